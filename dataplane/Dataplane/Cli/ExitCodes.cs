namespace Dataplane.Cli;

/// <summary>The exit statuses of every command.</summary>
internal static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The command was right but failed while running.</summary>
    public const int Failure = 1;

    /// <summary>A usage error or a config error: nothing was changed.</summary>
    public const int Usage = 2;
}
