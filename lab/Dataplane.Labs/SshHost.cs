using System.Diagnostics;

namespace Dataplane.Labs;

/// <summary>
/// A remote machine reached with <c>ssh -o BatchMode=yes [OPTIONS] TARGET</c>. What the lab puts
/// on it (the dataplane binary, its config and control socket, helper scripts, process group
/// files, captures) goes into <see cref="Folder"/>, which the lab removes at the end.
/// </summary>
/// <param name="role">left, right or sut.</param>
/// <param name="target">The ssh destination.</param>
/// <param name="options">The lab's <c>ssh-option</c> words, passed before the target.</param>
/// <param name="folder">The run's folder on the machine (an absolute path of plain characters).</param>
public sealed class SshHost(string role, string target, IReadOnlyList<string> options, string folder) : Host(role)
{
    private int _spawned;

    /// <summary>The ssh destination.</summary>
    public string Target { get; } = target;

    /// <summary>The run's folder on the machine: <c>/tmp/dataplane-conformance-LABID</c>.</summary>
    public string Folder { get; } = folder;

    /// <inheritdoc/>
    public override string Where => $"ssh {Target}";

    /// <summary>The options every ssh call takes: no prompts, a bounded connect, keep-alives.</summary>
    internal static readonly string[] Options =
        ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"];

    /// <summary>The arguments of ssh that run <paramref name="remoteCommand"/> (a line for the remote user's shell).</summary>
    private string[] Arguments(string remoteCommand) => [.. Options, .. options, Target, remoteCommand];

    /// <inheritdoc/>
    protected internal override (string File, string[] Arguments) Wrap(string command) =>
        ("ssh", Arguments("sh -c " + Shell.Quote(command)));

    /// <summary>
    /// Starts the command remotely with its process group in a file, so that stopping it reaches
    /// the remote processes (closing the ssh connection alone would leave them running). sshd puts
    /// every session in a process group of its own (setsid), so the group is the command and what
    /// it forked, such as socat's child per peer, and nothing else. The command runs in a shell of
    /// its own: one that starts with <c>exec</c> becomes that shell's process, and one of several
    /// steps (<c>A &amp;&amp; B</c>) runs them all, which an <c>exec</c> in front of it would not.
    /// </summary>
    public override LabProcess Start(string command, TextWriter? log = null)
    {
        // The role in the name: two roles of a lab may be one machine, and share the folder.
        // Field 5 of /proc/PID/stat is the process group ("sh" has no space in its name, field 2).
        string groupFile = $"{Folder}/{Role}-{Interlocked.Increment(ref _spawned)}.pgid";
        return LabProcess.Start(this,
            $"mkdir -p {Folder} && cut -d' ' -f5 /proc/$$/stat >{groupFile} && exec sh -c {Shell.Quote(command)}", log, groupFile);
    }

    /// <summary>Runs a remote command line with no pid file and no time limit (the copies in and out).</summary>
    private Process StartSsh(string remoteCommand) => ProcessStarter.Start("ssh", Arguments(remoteCommand));

    /// <inheritdoc/>
    public override async Task FetchAsync(string remotePath, string localPath, CancellationToken cancel)
    {
        using Process ssh = StartSsh($"cat {Shell.Quote(remotePath)} && rm -f {Shell.Quote(remotePath)}");
        ssh.StandardInput.Close();
        await ProcessStarter.EndOnInterruptAsync(ssh, async () =>
        {
            Task<string> errors = ssh.StandardError.ReadToEndAsync(cancel);
            await using (FileStream file = File.Create(localPath))
                await ssh.StandardOutput.BaseStream.CopyToAsync(file, cancel).ConfigureAwait(false);
            await ssh.WaitForExitAsync(cancel).ConfigureAwait(false);
            await errors.ConfigureAwait(false);
        }).ConfigureAwait(false);
        if (ssh.ExitCode != 0)
            File.Delete(localPath);
    }

    /// <inheritdoc/>
    public override async Task<string> ProvideAsync(string localPath, string remoteFolder, CancellationToken cancel)
    {
        string remote = $"{remoteFolder}/{Path.GetFileName(localPath)}";
        using Process ssh = StartSsh($"mkdir -p {Shell.Quote(remoteFolder)} && cat >{Shell.Quote(remote)} && chmod +x {Shell.Quote(remote)}");
        Task<string> errors = ssh.StandardError.ReadToEndAsync(cancel);
        Task<string> output = ssh.StandardOutput.ReadToEndAsync(cancel);
        await ProcessStarter.EndOnInterruptAsync(ssh, async () =>
        {
            try
            {
                await using (FileStream file = File.OpenRead(localPath))
                    await file.CopyToAsync(ssh.StandardInput.BaseStream, cancel).ConfigureAwait(false);
                ssh.StandardInput.Close();
            }
            catch (IOException)
            {
                // ssh ended early (no connection, a full disk): its exit status and errors say why.
            }
            await ssh.WaitForExitAsync(cancel).ConfigureAwait(false);
            await output.ConfigureAwait(false);
        }).ConfigureAwait(false);
        if (ssh.ExitCode != 0)
            throw new LabException($"copying {localPath} to {Target}:{remote} failed: {(await errors.ConfigureAwait(false)).Trim()}");
        return remote;
    }
}

