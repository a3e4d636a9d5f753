using System.Reflection;
using System.Runtime.Loader;
using System.Text;

namespace Dataplane.Build.Pgo;

/// <summary>
/// Finds the method a runtime profile record names (<see cref="PgoText"/>), by reflection over the
/// program's assemblies and the core library: the type by its printed name (a generic type with its
/// arguments, <c>System.__Canon</c> for shared code), then the method by name, generic arity,
/// parameter count and IL size, and between overloads left by those, by its signature printed as
/// the runtime prints it. A record names a generic method without its instantiation, so
/// <see cref="Instantiations"/> lists the candidates.
/// </summary>
internal sealed class MethodResolver
{
    private readonly List<Assembly> _assemblies;
    private readonly List<Type> _valueTypes;

    /// <summary>A resolver over <paramref name="assemblies"/> and the core library.</summary>
    public MethodResolver(IEnumerable<Assembly> assemblies)
    {
        _assemblies = [typeof(object).Assembly, .. assemblies];
        // The program's own value types and the core library's primitives: what its generic
        // methods are instantiated over (a reference type argument shares one __Canon body).
        _valueTypes = [.. assemblies.SelectMany(LoadableTypes).Where(t => t.IsValueType && !t.IsGenericTypeDefinition && !t.IsEnum && !t.IsByRefLike)
            .Concat([typeof(bool), typeof(byte), typeof(sbyte), typeof(short), typeof(ushort), typeof(int), typeof(uint), typeof(long), typeof(ulong), typeof(nint), typeof(nuint)])];
    }

    /// <summary>
    /// The program's assemblies from <paramref name="directory"/> (the <c>Dataplane*</c> ones and
    /// <c>dataplane.dll</c>), loaded for reflection in a context of their own.
    /// </summary>
    public static List<Assembly> LoadProgram(string directory)
    {
        var context = new AssemblyLoadContext("pgo", isCollectible: true);
        context.Resolving += (c, name) => File.Exists(Path.Combine(directory, name.Name + ".dll")) ? c.LoadFromAssemblyPath(Path.Combine(directory, name.Name + ".dll")) : null;
        return [.. Directory.GetFiles(directory, "*.dll")
            .Where(f => Path.GetFileName(f).StartsWith("Dataplane", StringComparison.Ordinal) || Path.GetFileName(f) == "dataplane.dll")
            .Order(StringComparer.Ordinal)
            .Select(context.LoadFromAssemblyPath)];
    }

    /// <summary>
    /// The method <paramref name="record"/> names: its type as the record instantiates it, and the
    /// method as declared (on the generic type definition, for a generic type); or why not.
    /// </summary>
    public string? Resolve(PgoMethod record, out Type? type, out MethodBase? definition)
    {
        definition = null;
        string name = record.Name;
        // The method's name follows the last dot ("..ctor" and "..cctor" keep their own). An
        // explicit interface implementation's name has dots of its own: not found, said so.
        int end = name.EndsWith("..ctor", StringComparison.Ordinal) || name.EndsWith("..cctor", StringComparison.Ordinal)
            ? name.LastIndexOf("..", StringComparison.Ordinal)
            : name.LastIndexOf('.');
        type = end > 0 ? FindType(name[..end]) : null;
        if (type is null)
            return "type not found";
        string methodName = name[(end + 1)..];
        int parameters = Parameters(record.Signature);
        Type declaring = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        List<MethodBase> found = [.. declaring.GetMethods(all).Cast<MethodBase>().Concat(declaring.GetConstructors(all))
            .Where(m => m.Name == methodName && m.GetParameters().Length == parameters && m.IsGenericMethodDefinition == record.IsGenericMethod
                && m.GetMethodBody()?.GetILAsByteArray()?.Length == record.IlSize)];
        if (found.Count > 1)
            found = [.. found.Where(m => Printed(m) == record.Signature)];
        if (found.Count != 1)
            return found.Count == 0 ? "no such method" : $"{found.Count} methods match";
        definition = found[0];
        return null;
    }

    /// <summary>The instantiations of a generic method of one type parameter to profile: every one over the program's value types that meets its constraints.</summary>
    public IEnumerable<Type> Instantiations(MethodInfo definition)
    {
        if (definition.GetGenericArguments().Length != 1)
            yield break;
        foreach (Type argument in _valueTypes)
        {
            bool fits;
            try
            {
                definition.MakeGenericMethod(argument);
                fits = true;
            }
            catch (ArgumentException)
            {
                fits = false; // a constraint it does not meet
            }
            if (fits)
                yield return argument;
        }
    }

    /// <summary>
    /// A signature as the runtime's profile prints it: <c>instance generic bool  (class A,value class
    /// B`1&lt;int32&gt;&amp;,!!0)</c>; a nested type by its own name.
    /// </summary>
    public static string Printed(MethodBase method)
    {
        var text = new StringBuilder();
        if (!method.IsStatic)
            text.Append("instance ");
        if (method.IsGenericMethodDefinition)
            text.Append("generic ");
        text.Append(method is MethodInfo info ? Printed(info.ReturnType) : "void").Append("  (");
        text.AppendJoin(',', method.GetParameters().Select(p => Printed(p.ParameterType)));
        return text.Append(')').ToString();
    }

    private static string Printed(Type t)
    {
        if (t.IsByRef)
            return Printed(t.GetElementType()!) + "&";
        if (t.IsPointer)
            return Printed(t.GetElementType()!) + "*";
        if (t.IsSZArray)
            return Printed(t.GetElementType()!) + "[]";
        if (t.IsGenericParameter)
            return (t.DeclaringMethod is null ? "!" : "!!") + t.GenericParameterPosition;
        if (!t.IsEnum)
        {
            string? primitive = Type.GetTypeCode(t) switch
            {
                TypeCode.Boolean => "bool",
                TypeCode.Char => "char",
                TypeCode.SByte => "int8",
                TypeCode.Byte => "unsigned int8",
                TypeCode.Int16 => "int16",
                TypeCode.UInt16 => "unsigned int16",
                TypeCode.Int32 => "int32",
                TypeCode.UInt32 => "unsigned int32",
                TypeCode.Int64 => "int64",
                TypeCode.UInt64 => "unsigned int64",
                TypeCode.Single => "float32",
                TypeCode.Double => "float64",
                TypeCode.String => "string",
                _ => t == typeof(void) ? "void" : t == typeof(object) ? "object" : t == typeof(nint) ? "native int" : t == typeof(nuint) ? "native unsigned int" : null,
            };
            if (primitive is not null)
                return primitive;
        }
        Type definition = t.IsGenericType ? t.GetGenericTypeDefinition() : t;
        string name = definition.IsNested ? definition.Name : definition.FullName ?? definition.Name;
        if (t.IsGenericType)
            name += "<" + string.Join(',', t.GetGenericArguments().Select(Printed)) + ">";
        return (t.IsValueType ? "value class " : "class ") + name;
    }

    // Ns.Outer+Inner`1[Argument,Argument]: the type, its arguments resolved the same way.
    private Type? FindType(string name)
    {
        int bracket = name.IndexOf('[', StringComparison.Ordinal);
        if (bracket < 0)
            return _assemblies.Select(a => a.GetType(name)).FirstOrDefault(t => t is not null);
        if (!name.EndsWith(']') || FindType(name[..bracket]) is not Type definition)
            return null;
        var arguments = new List<Type>();
        foreach (string argument in SplitTopLevel(name[(bracket + 1)..^1]))
        {
            if (FindType(argument.Trim()) is not Type t)
                return null;
            arguments.Add(t);
        }
        try
        {
            return definition.MakeGenericType([.. arguments]);
        }
        catch (ArgumentException)
        {
            return null; // the arguments break a constraint: not this type
        }
    }

    // How many parameters a printed signature has: "instance bool  (class A,value class B`1<int32>&)".
    private static int Parameters(string signature)
    {
        int open = signature.IndexOf('(', StringComparison.Ordinal);
        if (open < 0 || !signature.EndsWith(')'))
            return -1;
        string inner = signature[(open + 1)..^1];
        return inner.Length == 0 ? 0 : SplitTopLevel(inner.Replace('<', '[').Replace('>', ']')).Count();
    }

    private static IEnumerable<string> SplitTopLevel(string text)
    {
        int depth = 0, start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '[')
                depth++;
            else if (text[i] == ']')
                depth--;
            else if (text[i] == ',' && depth == 0)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }
        yield return text[start..];
    }

    private static IEnumerable<Type> LoadableTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            return e.Types.OfType<Type>();
        }
    }
}
