namespace Dataplane.Tests.Stack.Lab;

/// <summary>The afxdp driver in the running binary: what <c>ctl ifconfig</c> says of its ports.</summary>
[Collection(StackLab.Collection)]
[Trait("Category", "Linux")]
public class AfXdpLabTests
{
    [SkippableFact]
    public void Ifconfig_shows_an_afxdp_port_with_its_modes_and_no_offloads()
    {
        using StackLab lab = StackLab.Start(LabDriver.AfXdp);

        string ifconfig = lab.Ctl("ifconfig");

        // veth: the program runs natively, the sockets in copy mode (veth has no zero copy).
        Assert.Contains("\tdriver afxdp (native, copy) queues 2", ifconfig, StringComparison.Ordinal);
        Assert.Contains("\thwfeatures=<MULTIQUEUE>", ifconfig, StringComparison.Ordinal);
        lab.AssertAlive();
    }
}
