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

namespace Dataplane.Tests.Build.Pgo;

/// <summary>
/// The .mibc as the NativeAOT compiler's parser reads it (dotnet/runtime's MIbcProfileParser): the
/// dictionary method naming the group; per method ldtoken, InstrumentationDataStart, the probe stream,
/// InstrumentationDataEnd, pop; the stream read by PgoProcessor's rule (a mask, then the fields it
/// flags in the order IL offset, kind, count, other, then count values); each reference with a
/// signature equal to its definition's, or the compiler would not find the method.
/// </summary>
public class MibcWriterTests
{
    [Fact]
    public void Each_profiled_method_is_named_with_its_probes_as_the_compiler_reads_them()
    {
        MethodInfo lookup = typeof(Ipv6LpmTable).GetMethod(nameof(Ipv6LpmTable.Lookup))!;
        MethodInfo enqueue = typeof(SpscRing<>).GetMethods().Single(m => m.Name == nameof(SpscRing<PacketBuffer>.TryEnqueue)
            && m.GetParameters() is [{ ParameterType: { IsGenericType: true } span }] && span.GetGenericTypeDefinition() == typeof(ReadOnlySpan<>));
        MethodInfo home = typeof(AddressHash).GetMethod(nameof(AddressHash.Home))!;
        var writer = new MibcWriter();

        Assert.True(writer.Add(typeof(Ipv6LpmTable), lookup, [Probe(385, 4, 9, 1000), Probe(385, 9, 0, 3)], []));
        Assert.True(writer.Add(typeof(SpscRing<PacketBuffer>), enqueue, [Probe(65, 0, 0, 42)], []));
        Assert.True(writer.Add(typeof(AddressHash), home, [Probe(65, 0, 0, 77)], [typeof(Ipv4Address), typeof(Ipv6Address)]));
        Assert.False(writer.Add(typeof(AddressHash), home, [Probe(65, 0, 0, 1)], [])); // a generic method without an instantiation
        Assert.Equal(4, writer.Methods);

        var mibc = new Mibc(writer.Write());
        List<(ILOpCode Op, object? Operand)> dictionary = mibc.Code("AssemblyDictionary");
        Assert.Equal((ILOpCode.Ldstr, (object?)"Dataplane"), dictionary[0]);
        Assert.Equal((ILOpCode.Ldtoken, (object?)MetadataTokens.GetToken(mibc.Method("Dataplane"))), dictionary[1]);
        Assert.Equal(new[] { ILOpCode.Pop, ILOpCode.Ret }, dictionary.Skip(2).Select(i => i.Op));

        List<Mibc.Entry> entries = mibc.Entries("Dataplane");
        Assert.Equal(new[] { "Dataplane.Stack.Routing.Ipv6LpmTable.Lookup", "Dataplane.Engine.SpscRing`1<Dataplane.Buffers.PacketBuffer>.TryEnqueue",
            "Dataplane.Stack.AddressHash.Home", "Dataplane.Stack.AddressHash.Home" }, entries.Select(e => e.Method));
        Assert.Equal(new[] { (385, 4, 1, 9, 1000L), (385, 9, 1, 0, 3L) }, entries[0].Probes);
        Assert.Equal(new[] { (65, 0, 1, 0, 42L) }, entries[1].Probes);
        Assert.Equal(new[] { "Dataplane.Wire.Ipv4Address", "Dataplane.Wire.Ipv6Address" }, entries.Skip(2).Select(e => e.Instantiation));
        Assert.All(entries.Skip(2), e => Assert.Equal(new[] { (65, 0, 1, 0, 77L) }, e.Probes));
        Assert.Equal(Mibc.Definition(lookup), entries[0].Signature);
        Assert.Equal(Mibc.Definition(enqueue), entries[1].Signature);
        Assert.Equal(Mibc.Definition(home), entries[2].Signature);
    }

    [Fact]
    public void Every_method_of_the_program_is_referenced_by_its_definition_s_signature()
    {
        // Modifiers (in parameters of virtual methods, init setters), pointers (void* too), arrays,
        // generic parameters of types and methods, nested types: whatever the program declares.
        Assembly[] program = [typeof(Ipv6LpmTable).Assembly, typeof(Ipv6Address).Assembly];
        var writer = new MibcWriter();
        var expected = new List<(string, string)>();
        int refused = 0;
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (Type type in program.SelectMany(a => a.GetTypes()))
        {
            foreach (MethodBase method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
            {
                if (method.IsGenericMethodDefinition || method.GetMethodBody() is null)
                    continue;
                if (writer.Add(type, method, [Probe(65, 0, 0, 1)], []))
                    expected.Add((method.Name, Mibc.Definition(method)));
                else
                    refused++;
            }
        }

        List<Mibc.Entry> entries = new Mibc(writer.Write()).Entries("Dataplane");

        Assert.True(expected.Count > 2000, $"{expected.Count} methods");
        Assert.True(refused < 10, $"{refused} methods refused"); // function pointers only
        Assert.Equal(expected, entries.Select(e => (e.Member, e.Signature)));
    }

    [Fact]
    public void Shared_generic_code_is_referenced_in_the_assembly_the_parser_maps_to_the_canonical_type()
    {
        Type canon = typeof(object).Assembly.GetType("System.__Canon")!;
        var writer = new MibcWriter();
        Assert.True(writer.Add(typeof(List<>).MakeGenericType(canon), typeof(List<>).GetMethod("Add")!, [Probe(65, 0, 0, 1)], []));

        var mibc = new Mibc(writer.Write());

        TypeReference reference = mibc.Metadata.TypeReferences.Select(mibc.Metadata.GetTypeReference).Single(t => mibc.Metadata.GetString(t.Name) == "__Canon");
        AssemblyReference scope = mibc.Metadata.GetAssemblyReference((AssemblyReferenceHandle)reference.ResolutionScope);
        Assert.Equal(("System", "System.Private.Canon"), (mibc.Metadata.GetString(reference.Namespace), mibc.Metadata.GetString(scope.Name)));
    }

    private static PgoSchema Probe(int kind, int offset, int other, long value) => new(kind, offset, 1, other) { Data = { value } };

    /// <summary>A written .mibc, read back.</summary>
    private sealed class Mibc
    {
        private readonly PEReader _pe;

        public Mibc(byte[] image)
        {
            _pe = new PEReader(ImmutableArray.Create(image));
            Metadata = _pe.GetMetadataReader();
        }

        public MetadataReader Metadata { get; }

        public sealed record Entry(string Method, string Member, string? Instantiation, string Signature, List<(int Kind, int Offset, int Count, int Other, long Value)> Probes);

        public MethodDefinitionHandle Method(string name) => Metadata.MethodDefinitions.Single(h => Metadata.GetString(Metadata.GetMethodDefinition(h).Name) == name);

        // The opcodes the writer emits, with their operands (a token, a user string, an int64).
        public List<(ILOpCode Op, object? Operand)> Code(string method)
        {
            BlobReader il = _pe.GetMethodBody(Metadata.GetMethodDefinition(Method(method)).RelativeVirtualAddress).GetILReader();
            var code = new List<(ILOpCode, object?)>();
            while (il.RemainingBytes > 0)
            {
                var op = (ILOpCode)il.ReadByte();
                code.Add(op switch
                {
                    ILOpCode.Ldtoken => (op, il.ReadInt32()),
                    ILOpCode.Ldstr => (op, Metadata.GetUserString(MetadataTokens.UserStringHandle(il.ReadInt32() & 0xFFFFFF))),
                    ILOpCode.Ldc_i8 => (op, il.ReadInt64()),
                    ILOpCode.Pop or ILOpCode.Ret => (op, null),
                    _ => throw new InvalidDataException($"opcode {op} is not the writer's"),
                });
            }
            return code;
        }

        // The group's entries as the parser walks them: ldtoken, the probe stream between the markers, pop.
        public List<Entry> Entries(string group)
        {
            List<(ILOpCode Op, object? Operand)> code = Code(group);
            var entries = new List<Entry>();
            var names = new TypeNames(Metadata);
            for (int i = 0; code[i].Op != ILOpCode.Ret; i++)
            {
                Assert.Equal(ILOpCode.Ldtoken, code[i].Op);
                EntityHandle handle = MetadataTokens.EntityHandle((int)code[i].Operand!);
                string? instantiation = null;
                if (handle.Kind == HandleKind.MethodSpecification)
                {
                    MethodSpecification spec = Metadata.GetMethodSpecification((MethodSpecificationHandle)handle);
                    instantiation = spec.DecodeSignature(names, null).Single();
                    handle = spec.Method;
                }
                MemberReference member = Metadata.GetMemberReference((MemberReferenceHandle)handle);
                string parent = member.Parent.Kind == HandleKind.TypeSpecification
                    ? Metadata.GetTypeSpecification((TypeSpecificationHandle)member.Parent).DecodeSignature(names, null)
                    : names.Name((TypeReferenceHandle)member.Parent);
                Assert.Equal("InstrumentationDataStart", code[++i].Operand);
                var stream = new List<long>();
                while (code[++i].Op == ILOpCode.Ldc_i8)
                    stream.Add((long)code[i].Operand!);
                Assert.Equal("InstrumentationDataEnd", code[i].Operand);
                Assert.Equal(ILOpCode.Pop, code[++i].Op);
                entries.Add(new Entry($"{parent}.{Metadata.GetString(member.Name)}", Metadata.GetString(member.Name), instantiation, Format(member.DecodeMethodSignature(names, null)), Probes(stream)));
            }
            return entries;
        }

        // PgoProcessor's rule for an uncompressed stream: a mask, then the fields it flags (1 the IL
        // offset, 2 the kind, 4 the count, 8 the other field) in that order, fields not flagged kept
        // from the probe before; then the count's values.
        private static List<(int, int, int, int, long)> Probes(List<long> stream)
        {
            var probes = new List<(int, int, int, int, long)>();
            int offset = 0, kind = 0, count = 0, other = 0;
            for (int i = 0; i < stream.Count;)
            {
                long mask = stream[i++];
                if ((mask & 1) != 0)
                    offset = (int)stream[i++];
                if ((mask & 2) != 0)
                    kind = (int)stream[i++];
                if ((mask & 4) != 0)
                    count = (int)stream[i++];
                if ((mask & 8) != 0)
                    other = (int)stream[i++];
                Assert.Equal(1, count); // the tests' probes: one value each
                probes.Add((kind, offset, count, other, stream[i++]));
            }
            return probes;
        }

        // A method definition's signature, decoded from its own assembly's metadata the same way.
        public static string Definition(MethodBase method)
        {
            MetadataReader metadata = Readers.GetOrAdd(method.Module.Assembly.Location, path => new PEReader(File.OpenRead(path)).GetMetadataReader());
            MethodDefinition definition = metadata.GetMethodDefinition((MethodDefinitionHandle)MetadataTokens.EntityHandle(method.MetadataToken));
            return Format(definition.DecodeSignature(new TypeNames(metadata), null));
        }

        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, MetadataReader> Readers = new();

        private static string Format(MethodSignature<string> s) =>
            $"{(s.Header.IsInstance ? "instance " : "")}{s.GenericParameterCount} {s.ReturnType} ({string.Join(", ", s.ParameterTypes)})";
    }

    /// <summary>Types by namespace-qualified name (nested after their declaring type), with their modifiers, whichever assembly they are in.</summary>
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

        public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) => $"{unmodifiedType} {(isRequired ? "modreq" : "modopt")}({modifier})";

        public string GetPinnedType(string elementType) => elementType + " pinned";

        public string GetTypeFromSpecification(MetadataReader reader, object? context, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, context);
    }
}
