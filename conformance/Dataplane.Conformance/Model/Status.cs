namespace Dataplane.Conformance.Model;

/// <summary>
/// How one test of the matrix ended: OpenBSD's netlink statuses, in their order of severity (the
/// least severe first). When results are summarised, the most severe one wins.
/// </summary>
public enum Status
{
    /// <summary>The test passed.</summary>
    Pass,

    /// <summary>The test failed to produce a value.</summary>
    Fail,

    /// <summary>The test passed, but an error counter of the system under test moved.</summary>
    Xpass,

    /// <summary>The test did not exit with code 0.</summary>
    Noexit,

    /// <summary>The test did not terminate and was aborted after its timeout.</summary>
    Noterm,

    /// <summary>The test did not run: it could not be started, or its feature is missing.</summary>
    Norun,

    /// <summary>The log file for the test's output could not be created.</summary>
    Nolog,
}

/// <summary>Names, meanings and severity of <see cref="Status"/>.</summary>
public static class StatusInfo
{
    /// <summary>Every status, least severe first.</summary>
    public static readonly Status[] All = Enum.GetValues<Status>();

    /// <summary>The status as the result files write it: <c>PASS</c>, <c>NOEXIT</c>, ...</summary>
    public static string Name(this Status status) => status switch
    {
        Status.Pass => "PASS",
        Status.Fail => "FAIL",
        Status.Xpass => "XPASS",
        Status.Noexit => "NOEXIT",
        Status.Noterm => "NOTERM",
        Status.Norun => "NORUN",
        _ => "NOLOG",
    };

    /// <summary>What the status means, in the words of OpenBSD's results page.</summary>
    public static string Meaning(this Status status) => status switch
    {
        Status.Pass => "test passed",
        Status.Fail => "test failed to produce a value",
        Status.Xpass => "test passed, but an error counter moved in the statistics diff",
        Status.Noexit => "test did not exit with code 0",
        Status.Noterm => "test did not terminate, aborted after timeout",
        Status.Norun => "test did not run, could not be started",
        _ => "creating the log file for the test's output failed",
    };

    /// <summary>The status named <paramref name="name"/> (as <see cref="Name"/> writes it).</summary>
    public static bool TryParse(string name, out Status status)
    {
        foreach (Status s in All)
        {
            if (s.Name() == name)
            {
                status = s;
                return true;
            }
        }
        status = default;
        return false;
    }

    /// <summary>The most severe of <paramref name="statuses"/>; <see cref="Status.Pass"/> for none.</summary>
    public static Status Worst(IEnumerable<Status> statuses)
    {
        Status worst = Status.Pass;
        foreach (Status s in statuses)
        {
            if (s > worst)
                worst = s;
        }
        return worst;
    }
}
