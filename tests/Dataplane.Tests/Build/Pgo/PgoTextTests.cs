using Dataplane.Build.Pgo;

namespace Dataplane.Tests.Build.Pgo;

/// <summary>The runtime's text profile (DOTNET_WritePGOData) read record by record, and runs merged.</summary>
public class PgoTextTests
{
    internal const string Sample = """
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
    public void Records_are_read_with_their_probes_and_only_block_and_edge_counts_are_carried()
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
    public void An_eight_byte_count_is_read_from_its_two_printed_halves()
    {
        List<PgoMethod> methods = PgoText.Parse([
            "@@@ codehash 0x1 methodhash 0x2 ilSize 0x00000010 records 0x00000001",
            "MethodName: Dataplane.Stack.AddressHash.Home",
            "Signature: generic int32  (!!0&,int32)",
            "Schema InstrumentationKind 386 ILOffset 4 Count 1 Other 9",
            "5 2",
        ]);

        Assert.Equal((2L << 32) | 5, methods.Single().Counts.Single().Data.Single());
    }

    [Fact]
    public void A_truncated_probe_carries_no_counts()
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
    public void Runs_merge_summing_the_counts_of_a_method_both_ran_and_keeping_one_only_the_second_ran()
    {
        List<PgoMethod> inet = PgoText.Parse(Sample.Split('\n'));
        List<PgoMethod> inet6 = PgoText.Parse(Sample.Split('\n'));
        inet6[0].Schemas[0].Data[0] = 5;
        // Another build of Home: different probes, so its counts are not added to the first run's.
        inet6[1].Schemas[0] = new PgoSchema(65, 3, 1, 0) { Data = { 9 } };
        var only = new PgoMethod(0x20) { Name = "Dataplane.Stack.Ip.Ipv6Layer.Forward", Signature = "instance void  ()" };
        only.Schemas.Add(new PgoSchema(65, 0, 1, 0) { Data = { 3 } });
        inet6.Add(only);

        List<PgoMethod> merged = PgoText.Merge([inet, inet6]);

        Assert.Equal(3, merged.Count);
        Assert.Equal(new[] { 22L, 0L }, merged[0].Counts.Select(s => s.Data.Single()));
        Assert.Equal(4_000_000, merged[1].Counts.Single().Data.Single());
        Assert.Same(only, merged[2]);
    }
}
