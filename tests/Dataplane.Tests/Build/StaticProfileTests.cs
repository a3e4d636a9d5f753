using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using Dataplane.Build.Pgo;
using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Stack;
using Dataplane.Stack.Routing;
using Dataplane.Wire;

namespace Dataplane.Tests.Build;

/// <summary>
/// The static profile ./build.sh publish compiles the binary with: the runtime's text profile read,
/// and the .mibc written as the NativeAOT compiler's parser reads it (dotnet/runtime's
/// MIbcProfileParser: the dictionary method, the group's ldtoken / InstrumentationDataStart /
/// ldc.i8 ... / InstrumentationDataEnd / pop), each method referenced by a signature equal to its
/// definition's, so that the compiler finds it.
/// </summary>
public class StaticProfileTests
{
    private const string Sample = """
        *** START PGO Data, max index = 2 ***
        @@@ codehash 0xF51FDBD4 methodhash 0xC38353C6 ilSize 0x00000052 records 0x00000004
        MethodName: Dataplane.Bench.ForwardingRig.Dispose
        Signature: instance void  ()
        Schema InstrumentationKind 385 ILOffset 8 Count 1 Other 0
        17
        Schema InstrumentationKind 385 ILOffset 29 Count 1 Other 60
        0
        Schema InstrumentationKind 177 ILOffset 14 Count 1 Other 3221225472
        1
        Schema InstrumentationKind 195 ILOffset 14 Count 2 Other 3221225472
        TypeHandle: Dataplane.Engine.Worker`1[[Dataplane.Stack.StackProcessor, Dataplane.Core]][], Dataplane.Core
        TypeHandle: NULL
        @@@ codehash 0x00000001 methodhash 0x00000002 ilSize 0x0000001A records 0x00000001
        MethodName: Dataplane.Stack.AddressHash.Home
        Signature: generic int32  (!!0&,int32)
        Schema InstrumentationKind 65 ILOffset 0 Count 1 Other 0
        4000000
        *** END PGO Data ***
        """;

    [Fact]
    public void The_runtime_text_profile_is_read_record_by_record_and_only_block_and_edge_counts_are_carried()
    {
        List<PgoMethod> methods = PgoText.Parse(Sample.Split('\n'));

        Assert.Equal(2, methods.Count);
        PgoMethod dispose = methods[0];
        Assert.Equal(("Dataplane.Bench.ForwardingRig.Dispose", "instance void  ()", 0x52), (dispose.Name, dispose.Signature, dispose.IlSize));
        Assert.False(dispose.IsGenericMethod);
        Assert.Equal(4, dispose.Schemas.Count);
        Assert.Equal((385, 29, 1, 60), (dispose.Schemas[1].Kind, dispose.Schemas[1].IlOffset, dispose.Schemas[1].Count, dispose.Schemas[1].Other));
        Assert.Equal(unchecked((int)3221225472), dispose.Schemas[2].Other);
        // The two edge counts, not the handle histogram's count or its type handles.
        Assert.Equal(new[] { (8, 17L), (29, 0L) }, dispose.Counts.Select(s => (s.IlOffset, s.Data.Single())));
        PgoMethod home = methods[1];
        Assert.True(home.IsGenericMethod);
        Assert.Equal(4_000_000, home.Counts.Single().Data.Single());
    }

    [Fact]
    public void Runs_merge_into_one_profile_summing_the_counts_of_a_method_both_ran()
    {
        List<PgoMethod> inet = PgoText.Parse(Sample.Split('\n'));
        List<PgoMethod> inet6 = PgoText.Parse(Sample.Split('\n'));
        inet6[0].Schemas[0].Data[0] = 5;
        // Another build of Home: different probes, so its counts are not added to the first run's.
        inet6[1].Schemas[0] = new PgoSchema(65, 3, 1, 0) { Data = { 9 } };

        List<PgoMethod> merged = PgoText.Merge([inet, inet6]);

        Assert.Equal(2, merged.Count);
        Assert.Equal(new[] { 22L, 0L }, merged[0].Counts.Select(s => s.Data.Single()));
        Assert.Equal(4_000_000, merged[1].Counts.Single().Data.Single());
    }

    [Fact]
    public void A_truncated_record_carries_no_counts()
    {
        List<PgoMethod> methods = PgoText.Parse([
            "@@@ codehash 0x1 methodhash 0x2 ilSize 0x00000010 records 0x00000001",
            "MethodName: Dataplane.Stack.AddressHash.Home",
            "Signature: generic int32  (!!0&,int32)",
            "Schema InstrumentationKind 385 ILOffset 0 Count 2 Other 4",
            "7",
        ]);

        Assert.Empty(methods.Single().Counts); // one value of two: not a count the compiler could use
    }

    [Fact]
    public void The_mibc_names_each_profiled_method_by_its_definition_s_signature_with_its_counts()
    {
        MethodInfo lookup = typeof(Ipv6LpmTable).GetMethod(nameof(Ipv6LpmTable.Lookup))!;
        // Of the ring's overloads, the burst one: a span of the ring's own type parameter.
        MethodInfo dequeueDefinition = typeof(SpscRing<>).GetMethods().Single(m => m.Name == nameof(SpscRing<PacketBuffer>.TryDequeue)
            && m.GetParameters() is [{ ParameterType: { IsGenericType: true } span }] && span.GetGenericTypeDefinition() == typeof(Span<>));
        MethodInfo dequeue = typeof(SpscRing<PacketBuffer>).GetMethod(nameof(SpscRing<PacketBuffer>.TryDequeue), [typeof(Span<PacketBuffer>)])!;
        MethodInfo count = typeof(StackCounters).GetMethod(nameof(StackCounters.Count), [typeof(Ip6Counter)])!;
        MethodInfo home = typeof(AddressHash).GetMethod(nameof(AddressHash.Home))!;
        var writer = new MibcWriter([typeof(Ipv6LpmTable).Assembly, typeof(Ipv6Address).Assembly]);

        Assert.True(writer.Add(Record(lookup, "Dataplane.Stack.Routing.Ipv6LpmTable.Lookup", "instance int32  (value class Dataplane.Wire.Ipv6Address&)", (385, 4, 1, 9, 1000), (385, 9, 1, 0, 3))));
        Assert.True(writer.Add(Record(dequeue, "Dataplane.Engine.SpscRing`1[Dataplane.Buffers.PacketBuffer].TryDequeue", "instance int32  (value class System.Span`1<!0>)", (65, 0, 1, 0, 42))));
        // One of the generated counter overloads, told apart by the parameter's type.
        Assert.True(writer.Add(Record(count, "Dataplane.Stack.StackCounters.Count", "instance void  (value class Dataplane.Stack.Ip6Counter)", (385, 0, 1, 7, 5))));
        Assert.True(writer.Add(Record(home, "Dataplane.Stack.AddressHash.Home", "generic int32  (!!0&,int32)", (65, 0, 1, 0, 77))));
        Assert.False(writer.Add(Record(lookup, "Dataplane.Stack.Routing.Nowhere.Lookup", "instance int32  (value class Dataplane.Wire.Ipv6Address&)", (65, 0, 1, 0, 1))));
        Assert.False(writer.Add(Record(lookup, "Dataplane.Stack.Routing.Ipv6LpmTable.Lookup", "instance int32  (value class Dataplane.Wire.Ipv6Address&)")));
        Assert.Equal(2, writer.Unresolved.Count);

        using var pe = new PEReader(ImmutableArray.Create(writer.Write()));
        MetadataReader metadata = pe.GetMetadataReader();
        var methods = metadata.MethodDefinitions.Select(metadata.GetMethodDefinition).ToDictionary(m => metadata.GetString(m.Name));
        // The dictionary: the group's name, its method, pop.
        List<(ILOpCode, object?)> dictionary = Decode(pe, metadata, methods["AssemblyDictionary"]);
        Assert.Equal(ILOpCode.Ldstr, dictionary[0].Item1);
        Assert.Equal((ILOpCode.Ldtoken, (object?)MetadataTokens.GetToken(MetadataTokens.MethodDefinitionHandle(2))), dictionary[1]);
        Assert.Equal("Dataplane", metadata.GetString(methods.Values.ElementAt(1).Name));
        Assert.Equal(new[] { ILOpCode.Pop, ILOpCode.Ret }, dictionary.Skip(2).Select(i => i.Item1));

        var entries = Entries(metadata, Decode(pe, metadata, methods["Dataplane"]));
        var byName = entries.GroupBy(e => e.Method).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(new long[] { 15, 4, 385, 1, 9, 1000, 15, 9, 385, 1, 0, 3 }, byName["Dataplane.Stack.Routing.Ipv6LpmTable.Lookup"].Single().Longs);
        Assert.Equal(new long[] { 15, 0, 65, 1, 0, 42 }, byName["Dataplane.Engine.SpscRing`1<Dataplane.Buffers.PacketBuffer>.TryDequeue"].Single().Longs);
        Assert.Equal(new long[] { 15, 0, 385, 1, 7, 5 }, byName["Dataplane.Stack.StackCounters.Count"].Single().Longs);
        // The generic method: an instantiation per value type that meets its constraints, among them the two address types.
        List<string> instantiations = [.. byName["Dataplane.Stack.AddressHash.Home"].Select(e => e.Instantiation!)];
        Assert.Contains("Dataplane.Wire.Ipv4Address", instantiations);
        Assert.Contains("Dataplane.Wire.Ipv6Address", instantiations);
        Assert.All(byName["Dataplane.Stack.AddressHash.Home"], e => Assert.Equal(new long[] { 15, 0, 65, 1, 0, 77 }, e.Longs));

        // Each reference's signature is its definition's, as the compiler matches them.
        Assert.Equal(Definition(lookup), byName["Dataplane.Stack.Routing.Ipv6LpmTable.Lookup"].Single().Signature);
        Assert.Equal(Definition(dequeueDefinition), byName["Dataplane.Engine.SpscRing`1<Dataplane.Buffers.PacketBuffer>.TryDequeue"].Single().Signature);
        Assert.Equal(Definition(count), byName["Dataplane.Stack.StackCounters.Count"].Single().Signature);
        Assert.Equal(Definition(home), byName["Dataplane.Stack.AddressHash.Home"][0].Signature);
    }

    private static PgoMethod Record(MethodInfo method, string name, string signature, params (int Kind, int Offset, int Count, int Other, long Value)[] probes)
    {
        var record = new PgoMethod(method.GetMethodBody()!.GetILAsByteArray()!.Length) { Name = name, Signature = signature };
        foreach ((int kind, int offset, int n, int other, long value) in probes)
        {
            var schema = new PgoSchema(kind, offset, n, other);
            schema.Data.Add(value);
            record.Schemas.Add(schema);
        }
        return record;
    }

    // The opcodes the writer emits, with their operands (a token, a user string, an int64).
    private static List<(ILOpCode, object?)> Decode(PEReader pe, MetadataReader metadata, MethodDefinition method)
    {
        BlobReader il = pe.GetMethodBody(method.RelativeVirtualAddress).GetILReader();
        var code = new List<(ILOpCode, object?)>();
        while (il.RemainingBytes > 0)
        {
            var op = (ILOpCode)il.ReadByte();
            code.Add(op switch
            {
                ILOpCode.Ldtoken => (op, il.ReadInt32()),
                ILOpCode.Ldstr => (op, metadata.GetUserString(MetadataTokens.UserStringHandle(il.ReadInt32() & 0xFFFFFF))),
                ILOpCode.Ldc_i8 => (op, il.ReadInt64()),
                ILOpCode.Pop or ILOpCode.Ret => (op, null),
                _ => throw new InvalidDataException($"opcode {op} is not the writer's"),
            });
        }
        return code;
    }

    // The group's entries as the compiler's parser walks them: ldtoken, the data between the markers, pop.
    private static List<(string Method, string? Instantiation, string Signature, List<long> Longs)> Entries(MetadataReader metadata, List<(ILOpCode Op, object? Operand)> code)
    {
        var entries = new List<(string, string?, string, List<long>)>();
        var names = new TypeNames(metadata);
        for (int i = 0; i < code.Count && code[i].Op != ILOpCode.Ret; i++)
        {
            Assert.Equal(ILOpCode.Ldtoken, code[i].Op);
            EntityHandle handle = MetadataTokens.EntityHandle((int)code[i].Operand!);
            string? instantiation = null;
            if (handle.Kind == HandleKind.MethodSpecification)
            {
                MethodSpecification spec = metadata.GetMethodSpecification((MethodSpecificationHandle)handle);
                instantiation = spec.DecodeSignature(names, null).Single();
                handle = spec.Method;
            }
            MemberReference member = metadata.GetMemberReference((MemberReferenceHandle)handle);
            string parent = member.Parent.Kind == HandleKind.TypeSpecification
                ? metadata.GetTypeSpecification((TypeSpecificationHandle)member.Parent).DecodeSignature(names, null)
                : names.Name((TypeReferenceHandle)member.Parent);
            MethodSignature<string> signature = member.DecodeMethodSignature(names, null);
            Assert.Equal("InstrumentationDataStart", code[++i].Operand);
            var longs = new List<long>();
            while (code[++i].Op == ILOpCode.Ldc_i8)
                longs.Add((long)code[i].Operand!);
            Assert.Equal("InstrumentationDataEnd", code[i].Operand);
            Assert.Equal(ILOpCode.Pop, code[++i].Op);
            entries.Add(($"{parent}.{metadata.GetString(member.Name)}", instantiation, Format(signature), longs));
        }
        return entries;
    }

    // A method definition's signature, decoded from its own assembly's metadata the same way.
    private static string Definition(MethodInfo method)
    {
        using var pe = new PEReader(File.OpenRead(method.Module.Assembly.Location));
        MetadataReader metadata = pe.GetMetadataReader();
        MethodDefinition definition = metadata.GetMethodDefinition((MethodDefinitionHandle)MetadataTokens.EntityHandle(method.MetadataToken));
        return Format(definition.DecodeSignature(new TypeNames(metadata), null));
    }

    private static string Format(MethodSignature<string> s) =>
        $"{(s.Header.IsInstance ? "instance " : "")}{s.GenericParameterCount} {s.ReturnType} ({string.Join(", ", s.ParameterTypes)})";

    /// <summary>Types by namespace-qualified name, nested ones after their declaring type's name, whichever assembly they are in.</summary>
    private sealed class TypeNames(MetadataReader metadata) : ISignatureTypeProvider<string, object?>
    {
        public string Name(TypeReferenceHandle handle)
        {
            TypeReference t = metadata.GetTypeReference(handle);
            string name = metadata.GetString(t.Name);
            return t.ResolutionScope.Kind == HandleKind.TypeReference
                ? $"{Name((TypeReferenceHandle)t.ResolutionScope)}+{name}"
                : $"{metadata.GetString(t.Namespace)}.{name}";
        }

        public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => Name(handle);

        public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind)
        {
            TypeDefinition t = reader.GetTypeDefinition(handle);
            string name = reader.GetString(t.Name);
            return t.GetDeclaringType().IsNil
                ? $"{reader.GetString(t.Namespace)}.{name}"
                : $"{GetTypeFromDefinition(reader, t.GetDeclaringType(), rawTypeKind)}+{name}";
        }

        public string GetPrimitiveType(PrimitiveTypeCode typeCode) => typeCode.ToString();

        public string GetGenericInstantiation(string genericType, ImmutableArray<string> typeArguments) => $"{genericType}<{string.Join(",", typeArguments)}>";

        public string GetByReferenceType(string elementType) => $"ref {elementType}";

        public string GetSZArrayType(string elementType) => elementType + "[]";

        public string GetPointerType(string elementType) => elementType + "*";

        public string GetGenericTypeParameter(object? context, int index) => $"!{index}";

        public string GetGenericMethodParameter(object? context, int index) => $"!!{index}";

        public string GetArrayType(string elementType, ArrayShape shape) => $"{elementType}[{shape.Rank}]";

        public string GetFunctionPointerType(MethodSignature<string> signature) => "method";

        public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) => $"{unmodifiedType} mod({modifier})";

        public string GetPinnedType(string elementType) => elementType + " pinned";

        public string GetTypeFromSpecification(MetadataReader reader, object? context, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, context);
    }
}
