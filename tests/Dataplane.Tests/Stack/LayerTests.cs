using System.Reflection;
using Dataplane.Stack;
using Dataplane.Stack.Ip;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack;

/// <summary>
/// The stack's layers depend one way, down: link knows nothing of IP or transport, IP nothing of
/// transport, and no layer of the dispatcher. Checked on the compiled types (fields, constructors,
/// methods and properties of every type in a layer's namespace), so a shortcut back up fails here
/// rather than in a reader's head.
/// </summary>
public class LayerTests
{
    private static readonly Assembly Core = typeof(StackWorker).Assembly;

    [Theory]
    [InlineData("Dataplane.Stack.Link", new[] { "Dataplane.Stack.Ip", "Dataplane.Stack.Fragments", "Dataplane.Stack.Transport", "Dataplane.Stack.Apps" })]
    [InlineData("Dataplane.Stack.Ip", new[] { "Dataplane.Stack.Transport", "Dataplane.Stack.Apps" })]
    [InlineData("Dataplane.Stack.Fragments", new[] { "Dataplane.Stack.Transport", "Dataplane.Stack.Apps" })]
    [InlineData("Dataplane.Stack.Transport", new[] { "Dataplane.Stack.Apps" })]
    [InlineData("Dataplane.Stack.Transport.Tcp", new[] { "Dataplane.Stack.Apps" })]
    public void A_layer_uses_nothing_above_it_nor_the_dispatcher(string layer, string[] above)
    {
        var offences = new List<string>();
        foreach (Type type in Core.GetTypes().Where(t => t.Namespace == layer))
        {
            foreach ((string where, Type used) in Uses(type))
            {
                Type element = Unwrap(used);
                if (element == typeof(StackWorker) || (element.Namespace is { } ns && above.Any(a => ns == a || ns.StartsWith(a + ".", StringComparison.Ordinal))))
                    offences.Add($"{type.Name}.{where} uses {element.FullName}");
            }
        }
        Assert.Empty(offences);
    }

    [Fact]
    public void The_dispatcher_stays_a_dispatcher()
    {
        // A few hundred lines of code: its methods are Ethernet input, delivery by protocol and timers.
        MethodInfo[] methods = typeof(StackWorker).GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
            .Where(m => !m.IsSpecialName).ToArray();
        Assert.True(methods.Length <= 8, "StackWorker grew methods: " + string.Join(", ", methods.Select(m => m.Name)));
    }

    [Fact]
    public void An_inet_address_keeps_the_families_apart_and_sums_the_pseudo_header_of_its_own()
    {
        var v4 = InetAddress.Ipv4(new Ipv4Address(10, 0, 0, 1));
        var mapped = InetAddress.Ipv6(v4.Mapped); // ::ffff:10.0.0.1 as an IPv6 address
        Assert.NotEqual(v4, mapped);
        Assert.Equal(v4.Mapped, mapped.Mapped);
        Assert.Equal(new Ipv4Address(10, 0, 0, 1), v4.V4);
        Assert.Equal("10.0.0.1", v4.ToString());
        var v4b = InetAddress.Ipv4(new Ipv4Address(10, 0, 0, 2));
        Assert.Equal(
            InternetChecksum.PseudoHeaderSum(v4.V4, v4b.V4, (byte)IpProtocol.Udp, 100),
            InetAddress.PseudoHeaderSum(v4, v4b, IpProtocol.Udp, 100));
        Ipv6Address a = StackHarness.Client6, b = StackHarness.Server6;
        Assert.Equal(
            InternetChecksum.PseudoHeaderSum(a, b, (byte)IpProtocol.Udp, 100),
            InetAddress.PseudoHeaderSum(InetAddress.Ipv6(a), InetAddress.Ipv6(b), IpProtocol.Udp, 100));
        Assert.True(InetAddress.Any(ipv6: false).IsUnspecified);
        Assert.True(InetAddress.Ipv4(Ipv4Address.Broadcast).IsMulticastOrBroadcast);
        Assert.False(InetAddress.Ipv6(a).IsMulticastOrBroadcast);
    }

    private static IEnumerable<(string Where, Type Used)> Uses(Type type)
    {
        const BindingFlags all = BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
        foreach (FieldInfo field in type.GetFields(all))
            yield return (field.Name, field.FieldType);
        foreach (PropertyInfo property in type.GetProperties(all))
            yield return (property.Name, property.PropertyType);
        foreach (MethodBase method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
        {
            if (method is MethodInfo m)
                yield return (method.Name, m.ReturnType);
            foreach (ParameterInfo parameter in method.GetParameters())
                yield return ($"{method.Name}({parameter.Name})", parameter.ParameterType);
        }
    }

    private static Type Unwrap(Type type)
    {
        while (type.HasElementType)
            type = type.GetElementType()!;
        return type;
    }
}
