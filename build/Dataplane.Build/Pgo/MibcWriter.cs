using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace Dataplane.Build.Pgo;

/// <summary>
/// Writes a static profile as a <c>.mibc</c>, what the NativeAOT compiler reads (<c>--mibc</c>, the
/// <c>MibcFile</c> item): an IL-only assembly whose code is data, in the layout of dotnet/runtime's
/// MIbcProfileParser.
/// <list type="bullet">
/// <item>A global method <c>AssemblyDictionary</c>: <c>ldstr</c> a group's name, <c>ldtoken</c> the
/// group's method, <c>pop</c>; here one group.</item>
/// <item>The group's method, per profiled method: <c>ldtoken</c> the method (a member reference, a
/// method specification for a generic method's instantiation), <c>ldstr "InstrumentationDataStart"</c>,
/// the probes as <c>ldc.i8</c> values, <c>ldstr "InstrumentationDataEnd"</c>, <c>pop</c>. A probe is
/// 0xF (all four fields follow), its IL offset, kind, count and other field, then its values
/// (PgoProcessor's uncompressed stream; the parser ends it itself).</item>
/// </list>
/// Each reference carries its definition's signature, modifiers included, so that the compiler
/// finds the method; shared generic code (<c>System.__Canon</c>) is referenced in the assembly the
/// parser maps to the compiler's canonical type, <c>System.Private.Canon</c>. Only block and edge
/// counts are written: what lays the code out and guides inlining, never what it does.
/// </summary>
internal sealed class MibcWriter
{
    // Rows of <Module>'s methods, in the order Write adds them: the dictionary names the group by its row.
    private const int GroupRow = 2;
    private static readonly Guid Mvid = new("5d2f8a5e-1b7c-4e59-9a55-3c1f0e6b2d41");

    private readonly MetadataBuilder _metadata = new();
    private readonly Dictionary<Type, EntityHandle> _typeReferences = [];
    private readonly Dictionary<string, AssemblyReferenceHandle> _assemblyReferences = [];
    private readonly List<(EntityHandle Method, IReadOnlyList<PgoSchema> Counts)> _entries = [];

    /// <summary>Profiled methods written, each instantiation of a generic method one.</summary>
    public int Methods => _entries.Count;

    /// <summary>
    /// Adds the counts of <paramref name="definition"/> on <paramref name="type"/> (as instantiated);
    /// a generic method's go to each of <paramref name="instantiations"/>. False when a type in its
    /// signature cannot be said here (a function pointer, a typed reference), or a generic method has
    /// no instantiation.
    /// </summary>
    public bool Add(Type type, MethodBase definition, IReadOnlyList<PgoSchema> counts, IEnumerable<Type> instantiations)
    {
        if (Reference(type, definition) is not MemberReferenceHandle reference)
            return false;
        if (!definition.IsGenericMethodDefinition)
        {
            _entries.Add((reference, counts));
            return true;
        }
        int added = 0;
        foreach (Type argument in instantiations)
        {
            var blob = new BlobBuilder();
            GenericTypeArgumentsEncoder arguments = new BlobEncoder(blob).MethodSpecificationSignature(1);
            if (Encode(arguments.AddArgument(), argument))
            {
                _entries.Add((_metadata.AddMethodSpecification(reference, _metadata.GetOrAddBlob(blob)), counts));
                added++;
            }
        }
        return added > 0;
    }

    /// <summary>The .mibc, as bytes of a PE file.</summary>
    public byte[] Write()
    {
        var bodies = new BlobBuilder();
        var encoder = new MethodBodyStreamEncoder(bodies);

        var group = new InstructionEncoder(new BlobBuilder());
        foreach ((EntityHandle method, IReadOnlyList<PgoSchema> counts) in _entries)
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
        dictionary.Token(MetadataTokens.MethodDefinitionHandle(GroupRow));
        dictionary.OpCode(ILOpCode.Pop);
        dictionary.OpCode(ILOpCode.Ret);
        int dictionaryBody = encoder.AddMethodBody(dictionary, maxStack: 8);

        var signature = new BlobBuilder();
        new BlobEncoder(signature).MethodSignature().Parameters(0, r => r.Void(), p => { });
        BlobHandle voidSignature = _metadata.GetOrAddBlob(signature);

        StringHandle name = _metadata.GetOrAddString("dataplane-profile");
        _metadata.AddModule(0, _metadata.GetOrAddString("dataplane-profile.dll"), _metadata.GetOrAddGuid(Mvid), default, default);
        _metadata.AddAssembly(name, new Version(1, 0, 0, 0), default, default, 0, AssemblyHashAlgorithm.None);
        MethodDefinitionHandle first = _metadata.AddMethodDefinition(MethodAttributes.Public | MethodAttributes.Static, MethodImplAttributes.IL,
            _metadata.GetOrAddString("AssemblyDictionary"), voidSignature, dictionaryBody, default);
        _metadata.AddMethodDefinition(MethodAttributes.Public | MethodAttributes.Static, MethodImplAttributes.IL,
            _metadata.GetOrAddString("Dataplane"), voidSignature, groupBody, default);
        _metadata.AddTypeDefinition(default, default, _metadata.GetOrAddString("<Module>"), default, MetadataTokens.FieldDefinitionHandle(1), first);

        var pe = new ManagedPEBuilder(PEHeaderBuilder.CreateLibraryHeader(), new MetadataRootBuilder(_metadata), bodies,
            deterministicIdProvider: content => new BlobContentId(Mvid, 0x4d494243));
        var image = new BlobBuilder();
        pe.Serialize(image);
        return image.ToArray();
    }

    // A reference to the method as declared, on its type as instantiated; null when a type in its signature cannot be encoded.
    private MemberReferenceHandle? Reference(Type type, MethodBase definition)
    {
        var signature = new BlobBuilder();
        MethodSignatureEncoder method = new BlobEncoder(signature).MethodSignature(SignatureCallingConvention.Default,
            definition.IsGenericMethodDefinition ? definition.GetGenericArguments().Length : 0, !definition.IsStatic);
        ParameterInfo? returned = (definition as MethodInfo)?.ReturnParameter;
        bool encoded = true;
        method.Parameters(definition.GetParameters().Length,
            r =>
            {
                if (returned is not null)
                    Modifiers(r.CustomModifiers(), returned);
                if (returned is null || returned.ParameterType == typeof(void))
                {
                    r.Void();
                    return;
                }
                Type t = returned.ParameterType;
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

    // A type in a signature (ECMA-335 II.23.2.12); false for what none here needs (function pointers, arrays of rank > 1, typed references).
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
        if (t.IsByRef || t.IsFunctionPointer || (t.IsArray && !t.IsSZArray) || t == typeof(TypedReference))
            return false;
        if (t.IsPointer && t.GetElementType() == typeof(void))
        {
            encoder.VoidPointer();
            return true;
        }
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
        // Shared generic code: the parser maps this assembly's System.__Canon to the compiler's canonical type.
        EntityHandle scope = t.IsNested ? TypeReference(t.DeclaringType!)
            : t.FullName == "System.__Canon" ? AssemblyReference("System.Private.Canon")
            : AssemblyReference(t.Assembly.GetName().Name!);
        handle = _metadata.AddTypeReference(scope, t.IsNested ? default : _metadata.GetOrAddString(t.Namespace ?? ""), _metadata.GetOrAddString(t.Name));
        _typeReferences[t] = handle;
        return handle;
    }

    private AssemblyReferenceHandle AssemblyReference(string name)
    {
        if (!_assemblyReferences.TryGetValue(name, out AssemblyReferenceHandle handle))
        {
            handle = _metadata.AddAssemblyReference(_metadata.GetOrAddString(name), new Version(0, 0, 0, 0), default, default, default, default);
            _assemblyReferences[name] = handle;
        }
        return handle;
    }
}
