using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Runtime.Loader;

namespace Dataplane.Build.Pgo;

/// <summary>
/// Writes a runtime text profile (<see cref="PgoText"/>) as a <c>.mibc</c>, the static profile the
/// NativeAOT compiler reads (<c>--mibc</c>, the <c>MibcFile</c> item): an IL-only assembly whose
/// code is data, in the layout of dotnet/runtime's MIbcProfileParser.
/// <list type="bullet">
/// <item>A global method <c>AssemblyDictionary</c>: <c>ldstr</c> a group's name, <c>ldtoken</c> the
/// group's method, <c>pop</c>; here one group.</item>
/// <item>The group's method, per profiled method: <c>ldtoken</c> the method (a member reference, a
/// method specification for a generic method's instantiation), <c>ldstr "InstrumentationDataStart"</c>,
/// the probes as <c>ldc.i8</c> values, <c>ldstr "InstrumentationDataEnd"</c>, <c>pop</c>. A probe is
/// 0xF (all four fields follow), its IL offset, kind, count and other field, then its values
/// (PgoProcessor's uncompressed stream; the parser ends it itself).</item>
/// </list>
/// Only block and edge counts are carried: what lays out the code and guides inlining. The methods
/// are found by reflection over the assemblies the profiled program was built into: by type (with a
/// generic type's arguments), name, parameter count, IL size and, between overloads, the parameter
/// types the signature names. A generic method's record does not say which instantiation ran, so
/// its counts go to every instantiation over the program's value types that meets its constraints:
/// the compiler keeps those it compiles.
/// </summary>
internal sealed class MibcWriter
{
    private readonly List<Assembly> _assemblies;
    private readonly List<Type> _valueTypes;
    private readonly MetadataBuilder _metadata = new();
    private readonly Dictionary<Type, EntityHandle> _typeReferences = [];
    private readonly Dictionary<string, AssemblyReferenceHandle> _assemblyReferences = [];
    private readonly List<(EntityHandle Method, PgoSchema[] Counts)> _entries = [];

    /// <summary>A writer for methods of <paramref name="assemblies"/> and the core library.</summary>
    public MibcWriter(IEnumerable<Assembly> assemblies)
    {
        _assemblies = [typeof(object).Assembly, .. assemblies];
        _valueTypes = [.. assemblies.SelectMany(LoadableTypes).Where(t => t.IsValueType && !t.IsGenericTypeDefinition && !t.IsEnum && !t.IsByRefLike)];
    }

    /// <summary>Profiled methods written (instantiations of a generic method counted one by one).</summary>
    public int Methods => _entries.Count;

    /// <summary>Records not written: no counts, or no single method that matches them.</summary>
    public List<string> Unresolved { get; } = [];

    /// <summary>
    /// The program's assemblies from <paramref name="directory"/> (the <c>Dataplane*</c> ones and
    /// <c>dataplane.dll</c>), loaded for reflection in a context of their own.
    /// </summary>
    public static List<Assembly> LoadProgram(string directory)
    {
        var context = new AssemblyLoadContext("mibc", isCollectible: true);
        context.Resolving += (c, name) => File.Exists(Path.Combine(directory, name.Name + ".dll")) ? c.LoadFromAssemblyPath(Path.Combine(directory, name.Name + ".dll")) : null;
        return [.. Directory.GetFiles(directory, "*.dll")
            .Where(f => Path.GetFileName(f).StartsWith("Dataplane", StringComparison.Ordinal) || Path.GetFileName(f) == "dataplane.dll")
            .Order(StringComparer.Ordinal)
            .Select(context.LoadFromAssemblyPath)];
    }

    /// <summary>Adds the counts of <paramref name="method"/>; false (and noted in <see cref="Unresolved"/>) when it has none or is not found.</summary>
    public bool Add(PgoMethod method)
    {
        string? why = Carry(method);
        if (why is null)
            return true;
        Unresolved.Add($"{method.Name} {method.Signature}: {why}");
        return false;
    }

    // Adds the method's entries; null, or why not.
    private string? Carry(PgoMethod method)
    {
        PgoSchema[] counts = [.. method.Counts];
        if (counts.Length == 0)
            return "no block or edge counts";
        if (Resolve(method, out Type? type, out MethodBase? definition) is string why)
            return why;
        if (MemberReference(type!, definition!) is not MemberReferenceHandle reference)
            return "a parameter type a signature cannot say here";
        if (!definition!.IsGenericMethodDefinition)
        {
            _entries.Add((reference, counts));
            return null;
        }
        int added = 0;
        foreach (Type argument in _valueTypes)
        {
            if (Instantiation(reference, (MethodInfo)definition, argument) is EntityHandle instance)
            {
                _entries.Add((instance, counts));
                added++;
            }
        }
        return added > 0 ? null : "no instantiation over the program's value types";
    }

    /// <summary>The .mibc, as bytes of a PE file.</summary>
    public byte[] Write()
    {
        var bodies = new BlobBuilder();
        var encoder = new MethodBodyStreamEncoder(bodies);

        var group = new InstructionEncoder(new BlobBuilder());
        foreach ((EntityHandle method, PgoSchema[] counts) in _entries)
        {
            group.OpCode(ILOpCode.Ldtoken);
            group.Token(method);
            group.LoadString(_metadata.GetOrAddUserString("InstrumentationDataStart"));
            foreach (PgoSchema s in counts)
            {
                group.LoadConstantI8(0xF); // ILOffset, kind, count and other follow
                group.LoadConstantI8(s.IlOffset);
                group.LoadConstantI8(s.Kind);
                group.LoadConstantI8(s.Count);
                group.LoadConstantI8(s.Other);
                foreach (long value in s.Data)
                    group.LoadConstantI8(value);
            }
            group.LoadString(_metadata.GetOrAddUserString("InstrumentationDataEnd"));
            group.OpCode(ILOpCode.Pop);
        }
        group.OpCode(ILOpCode.Ret);
        // Never run: the stack depth only has to be a number the reader accepts.
        int groupBody = encoder.AddMethodBody(group, maxStack: ushort.MaxValue);

        var dictionary = new InstructionEncoder(new BlobBuilder());
        dictionary.LoadString(_metadata.GetOrAddUserString("Dataplane"));
        dictionary.OpCode(ILOpCode.Ldtoken);
        dictionary.Token(MetadataTokens.MethodDefinitionHandle(2)); // the group: <Module>'s second method
        dictionary.OpCode(ILOpCode.Pop);
        dictionary.OpCode(ILOpCode.Ret);
        int dictionaryBody = encoder.AddMethodBody(dictionary, maxStack: 8);

        var signature = new BlobBuilder();
        new BlobEncoder(signature).MethodSignature().Parameters(0, r => r.Void(), p => { });
        BlobHandle voidSignature = _metadata.GetOrAddBlob(signature);

        StringHandle name = _metadata.GetOrAddString("dataplane-profile");
        _metadata.AddModule(0, _metadata.GetOrAddString("dataplane-profile.dll"), _metadata.GetOrAddGuid(new Guid("5d2f8a5e-1b7c-4e59-9a55-3c1f0e6b2d41")), default, default);
        _metadata.AddAssembly(name, new Version(1, 0, 0, 0), default, default, 0, AssemblyHashAlgorithm.None);
        MethodDefinitionHandle first = _metadata.AddMethodDefinition(MethodAttributes.Public | MethodAttributes.Static, MethodImplAttributes.IL,
            _metadata.GetOrAddString("AssemblyDictionary"), voidSignature, dictionaryBody, default);
        _metadata.AddMethodDefinition(MethodAttributes.Public | MethodAttributes.Static, MethodImplAttributes.IL,
            _metadata.GetOrAddString("Dataplane"), voidSignature, groupBody, default);
        _metadata.AddTypeDefinition(default, default, _metadata.GetOrAddString("<Module>"), default, MetadataTokens.FieldDefinitionHandle(1), first);

        var pe = new ManagedPEBuilder(PEHeaderBuilder.CreateLibraryHeader(), new MetadataRootBuilder(_metadata), bodies,
            deterministicIdProvider: content => new BlobContentId(new Guid("5d2f8a5e-1b7c-4e59-9a55-3c1f0e6b2d41"), 0x4d494243));
        var image = new BlobBuilder();
        pe.Serialize(image);
        return image.ToArray();
    }

    // Finds the one method a record names; null, or why not.
    private string? Resolve(PgoMethod method, out Type? type, out MethodBase? definition)
    {
        definition = null;
        string name = method.Name;
        // The method's name follows the last dot outside the type's brackets (".ctor" keeps its own).
        int end = name.EndsWith("..ctor", StringComparison.Ordinal) || name.EndsWith("..cctor", StringComparison.Ordinal) ? name.LastIndexOf("..", StringComparison.Ordinal) : name.LastIndexOf('.');
        type = end > 0 ? FindType(name[..end]) : null;
        if (type is null)
            return "type not found";
        string methodName = name[(end + 1)..];
        string[] parameters = Parameters(method.Signature);
        Type declaring = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        List<MethodBase> found = [.. declaring.GetMethods(all).Cast<MethodBase>().Concat(declaring.GetConstructors(all))
            .Where(m => m.Name == methodName && m.GetParameters().Length == parameters.Length && m.IsGenericMethodDefinition == method.IsGenericMethod
                && m.GetMethodBody()?.GetILAsByteArray()?.Length == method.IlSize)];
        if (found.Count > 1)
            found = [.. found.Where(m => ParametersMatch(m, parameters))];
        if (found.Count != 1)
            return found.Count == 0 ? "no such method" : $"{found.Count} methods match";
        definition = found[0];
        return null;
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

    // The parameters of a printed signature: "instance bool  (class A,value class B`1<int32>&)".
    private static string[] Parameters(string signature)
    {
        int open = signature.IndexOf('(', StringComparison.Ordinal);
        if (open < 0 || !signature.EndsWith(')'))
            return [];
        string inner = signature[(open + 1)..^1];
        return inner.Length == 0 ? [] : [.. SplitTopLevel(inner.Replace('<', '[').Replace('>', ']'))];
    }

    // Overloads of one name, count and size: each parameter's printed type ends with its full name.
    private static bool ParametersMatch(MethodBase method, string[] printed)
    {
        ParameterInfo[] parameters = method.GetParameters();
        for (int i = 0; i < parameters.Length; i++)
        {
            Type t = parameters[i].ParameterType;
            if (t.IsByRef)
                t = t.GetElementType()!;
            string expected = t.IsEnum || t.IsGenericType || t.IsGenericParameter || t.IsArray || t.IsPointer ? (t.IsEnum ? t.FullName! : "") : Type.GetTypeCode(t) switch
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
                _ => t.FullName ?? "",
            };
            // A nested type is printed by its own name ("value class LengthTable&").
            if (t.IsNested && expected.Length > 0)
                expected = " " + t.Name;
            string text = printed[i].Trim().TrimEnd('&');
            if (expected.Length > 0 && !text.EndsWith(expected, StringComparison.Ordinal))
                return false;
        }
        return true;
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

    // A reference to the method as declared, on its type as instantiated; null when a type in its signature cannot be encoded.
    private MemberReferenceHandle? MemberReference(Type type, MethodBase definition)
    {
        var signature = new BlobBuilder();
        MethodSignatureEncoder method = new BlobEncoder(signature).MethodSignature(SignatureCallingConvention.Default,
            definition.IsGenericMethodDefinition ? definition.GetGenericArguments().Length : 0, !definition.IsStatic);
        ParameterInfo? returned = (definition as MethodInfo)?.ReturnParameter;
        bool encoded = true;
        method.Parameters(definition.GetParameters().Length,
            r =>
            {
                if (returned is null || returned.ParameterType == typeof(void))
                {
                    r.Void();
                    return;
                }
                Type t = returned.ParameterType;
                Modifiers(r.CustomModifiers(), returned);
                encoded &= Encode(r.Type(t.IsByRef), t.IsByRef ? t.GetElementType()! : t);
            },
            p =>
            {
                foreach (ParameterInfo parameter in definition.GetParameters())
                {
                    Type t = parameter.ParameterType;
                    ParameterTypeEncoder encoder = p.AddParameter();
                    Modifiers(encoder.CustomModifiers(), parameter);
                    encoded &= Encode(encoder.Type(t.IsByRef), t.IsByRef ? t.GetElementType()! : t);
                }
            });
        if (!encoded)
            return null;
        EntityHandle parent;
        if (type.IsGenericType)
        {
            var spec = new BlobBuilder();
            if (!Encode(new BlobEncoder(spec).TypeSpecificationSignature(), type))
                return null;
            parent = _metadata.AddTypeSpecification(_metadata.GetOrAddBlob(spec));
        }
        else
        {
            parent = TypeReference(type);
        }
        return _metadata.AddMemberReference(parent, _metadata.GetOrAddString(definition.Name), _metadata.GetOrAddBlob(signature));
    }

    // modreq and modopt, as the definition has them (an in parameter of a virtual method, init's IsExternalInit): part of the signature the compiler matches.
    private void Modifiers(CustomModifiersEncoder encoder, ParameterInfo parameter)
    {
        foreach (Type modifier in parameter.GetRequiredCustomModifiers())
            encoder = encoder.AddModifier(TypeReference(modifier), isOptional: false);
        foreach (Type modifier in parameter.GetOptionalCustomModifiers())
            encoder = encoder.AddModifier(TypeReference(modifier), isOptional: true);
    }

    private EntityHandle? Instantiation(MemberReferenceHandle method, MethodInfo definition, Type argument)
    {
        if (definition.GetGenericArguments().Length != 1)
            return null;
        try
        {
            definition.MakeGenericMethod(argument);
        }
        catch (ArgumentException)
        {
            return null; // a constraint it does not meet
        }
        var blob = new BlobBuilder();
        GenericTypeArgumentsEncoder arguments = new BlobEncoder(blob).MethodSpecificationSignature(1);
        return Encode(arguments.AddArgument(), argument) ? _metadata.AddMethodSpecification(method, _metadata.GetOrAddBlob(blob)) : null;
    }

    // A type in a signature (ECMA-335 II.23.2.12); false for what none here needs (function pointers, arrays of rank > 1).
    private bool Encode(SignatureTypeEncoder encoder, Type t)
    {
        if (t.IsGenericParameter)
        {
            if (t.DeclaringMethod is not null)
                encoder.GenericMethodTypeParameter(t.GenericParameterPosition);
            else
                encoder.GenericTypeParameter(t.GenericParameterPosition);
            return true;
        }
        if (t.IsByRef || t.IsFunctionPointer || (t.IsArray && !t.IsSZArray))
            return false;
        if (t.IsPointer)
            return Encode(encoder.Pointer(), t.GetElementType()!);
        if (t.IsSZArray)
            return Encode(encoder.SZArray(), t.GetElementType()!);
        if (!t.IsEnum)
        {
            switch (Type.GetTypeCode(t))
            {
                case TypeCode.Boolean: encoder.Boolean(); return true;
                case TypeCode.Char: encoder.Char(); return true;
                case TypeCode.SByte: encoder.SByte(); return true;
                case TypeCode.Byte: encoder.Byte(); return true;
                case TypeCode.Int16: encoder.Int16(); return true;
                case TypeCode.UInt16: encoder.UInt16(); return true;
                case TypeCode.Int32: encoder.Int32(); return true;
                case TypeCode.UInt32: encoder.UInt32(); return true;
                case TypeCode.Int64: encoder.Int64(); return true;
                case TypeCode.UInt64: encoder.UInt64(); return true;
                case TypeCode.Single: encoder.Single(); return true;
                case TypeCode.Double: encoder.Double(); return true;
                case TypeCode.String: encoder.String(); return true;
            }
            if (t == typeof(nint))
            {
                encoder.IntPtr();
                return true;
            }
            if (t == typeof(nuint))
            {
                encoder.UIntPtr();
                return true;
            }
            if (t == typeof(object))
            {
                encoder.Object();
                return true;
            }
        }
        if (t.IsGenericType)
        {
            Type definition = t.GetGenericTypeDefinition();
            Type[] arguments = t.GetGenericArguments();
            GenericTypeArgumentsEncoder encoded = encoder.GenericInstantiation(TypeReference(definition), arguments.Length, definition.IsValueType);
            return arguments.All(a => Encode(encoded.AddArgument(), a));
        }
        encoder.Type(TypeReference(t), t.IsValueType);
        return true;
    }

    private EntityHandle TypeReference(Type t)
    {
        if (_typeReferences.TryGetValue(t, out EntityHandle handle))
            return handle;
        EntityHandle scope = t.IsNested ? TypeReference(t.DeclaringType!) : AssemblyReference(t.Assembly);
        handle = _metadata.AddTypeReference(scope, t.IsNested ? default : _metadata.GetOrAddString(t.Namespace ?? ""), _metadata.GetOrAddString(t.Name));
        _typeReferences[t] = handle;
        return handle;
    }

    private AssemblyReferenceHandle AssemblyReference(Assembly assembly)
    {
        string name = assembly.GetName().Name!;
        if (!_assemblyReferences.TryGetValue(name, out AssemblyReferenceHandle handle))
        {
            handle = _metadata.AddAssemblyReference(_metadata.GetOrAddString(name), new Version(0, 0, 0, 0), default, default, default, default);
            _assemblyReferences[name] = handle;
        }
        return handle;
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
