using System.Reflection;
using Dataplane.Build.Pgo;
using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Stack;
using Dataplane.Stack.Routing;
using Dataplane.Wire;

namespace Dataplane.Tests.Build.Pgo;

/// <summary>A profile record's method found by reflection: by type, name, IL size, and between overloads by the signature as the runtime prints it.</summary>
public class MethodResolverTests
{
    private readonly MethodResolver _resolver = new([typeof(Ipv6LpmTable).Assembly, typeof(Ipv6Address).Assembly]);

    // Records as the runtime printed them for this program (DOTNET_WritePGOData): each resolves to
    // the method named, and the resolver prints its signature exactly so.
    [Theory]
    [InlineData("Dataplane.Stack.Routing.Ipv6LpmTable.Lookup", "instance int32  (value class Dataplane.Wire.Ipv6Address&)")]
    [InlineData("Dataplane.Stack.Routing.Ipv6LpmTable.Probe", "bool  (value class LengthTable&,value class Dataplane.Stack.Routing.Ipv6Key,int32&)")]
    [InlineData("Dataplane.Engine.SpscRing`1[Dataplane.Buffers.PacketBuffer].TryEnqueue", "instance int32  (value class System.ReadOnlySpan`1<!0>)")]
    [InlineData("Dataplane.Stack.StackCounters.Count", "instance void  (value class Dataplane.Stack.Ip6Counter)")]
    [InlineData("Dataplane.Stack.StackCounters.Count", "instance void  (value class Dataplane.Stack.ArpCounter)")]
    [InlineData("Dataplane.Stack.Ip.Ipv4Layer.Input", "instance generic bool  (class Dataplane.Stack.NetInterface,value class Dataplane.Buffers.PacketBuffer,value class System.Span`1<unsigned int8>,bool,value class Dataplane.Stack.Ip.IpDatagram&)")]
    public void A_record_resolves_to_the_method_it_names(string name, string signature)
    {
        MethodBase expected = Candidates(name).Single(m => MethodResolver.Printed(m) == signature);

        Assert.Null(_resolver.Resolve(Record(name, signature, expected), out Type? type, out MethodBase? found));

        Assert.Same(expected, found);
        Assert.Equal(name[..name.LastIndexOf('.')].StartsWith("Dataplane.Engine.SpscRing", StringComparison.Ordinal) ? typeof(SpscRing<PacketBuffer>) : expected.DeclaringType, type);
    }

    [Fact]
    public void A_record_whose_il_size_or_type_matches_nothing_is_refused_with_the_reason()
    {
        MethodInfo lookup = typeof(Ipv6LpmTable).GetMethod(nameof(Ipv6LpmTable.Lookup))!;
        PgoMethod resized = Record("Dataplane.Stack.Routing.Ipv6LpmTable.Lookup", "instance int32  (value class Dataplane.Wire.Ipv6Address&)", lookup, ilDelta: 1);
        PgoMethod elsewhere = Record("Dataplane.Stack.Routing.Nowhere.Lookup", "instance int32  (value class Dataplane.Wire.Ipv6Address&)", lookup);

        Assert.Equal("no such method", _resolver.Resolve(resized, out _, out _));
        Assert.Equal("type not found", _resolver.Resolve(elsewhere, out _, out _));
    }

    [Fact]
    public void A_generic_method_is_instantiated_over_the_value_types_that_meet_its_constraints()
    {
        MethodInfo home = typeof(AddressHash).GetMethod(nameof(AddressHash.Home))!;
        Assert.Null(_resolver.Resolve(Record("Dataplane.Stack.AddressHash.Home", "generic int32  (!!0&,int32)", home), out _, out MethodBase? found));

        List<Type> instantiations = [.. _resolver.Instantiations((MethodInfo)found!)];

        Assert.Contains(typeof(Ipv4Address), instantiations);
        Assert.Contains(typeof(Ipv6Address), instantiations);
        Assert.DoesNotContain(typeof(BufferMetadata), instantiations); // a struct, but not IEquatable of itself
        Assert.All(instantiations, t => home.MakeGenericMethod(t));
    }

    private static IEnumerable<MethodBase> Candidates(string name)
    {
        Type type = name.StartsWith("Dataplane.Engine.SpscRing", StringComparison.Ordinal) ? typeof(SpscRing<>)
            : typeof(Ipv6LpmTable).Assembly.GetType(name[..name.LastIndexOf('.')])!;
        return type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Where(m => m.Name == name[(name.LastIndexOf('.') + 1)..]);
    }

    internal static PgoMethod Record(string name, string signature, MethodBase method, int ilDelta = 0) =>
        new(method.GetMethodBody()!.GetILAsByteArray()!.Length + ilDelta) { Name = name, Signature = signature };
}
