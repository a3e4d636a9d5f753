using System.Runtime.InteropServices;

namespace Dataplane.Labs;

/// <summary>
/// Ctrl-C (SIGINT), SIGTERM and SIGHUP as a cancellation, for a program that has a lab to remove:
/// the first signal says so on standard error and cancels <see cref="Token"/>; the program removes
/// its lab and exits <see cref="ExitCode"/>. A second signal while it does does not cut the removal
/// short (a killed program would leave namespaces, addresses and processes behind); SIGHUP, a
/// closed terminal, no longer reaches the lab's processes, which have sessions of their own.
/// </summary>
public sealed class Interruption : IDisposable
{
    /// <summary>The exit status of an interrupted program, as a shell reports one ended by SIGINT.</summary>
    public const int ExitCode = 130;

    private readonly CancellationTokenSource _cancel = new();
    private readonly PosixSignalRegistration[] _registrations;
    private readonly string _program;
    private int _signals;

    /// <summary>Handles the signals for <paramref name="program"/> (the name its messages start with) until disposed.</summary>
    public Interruption(string program)
    {
        _program = program;
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle),
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, Handle),
        ];
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>Whether a signal came.</summary>
    public bool Requested => _cancel.IsCancellationRequested;

    private void Handle(PosixSignalContext context)
    {
        context.Cancel = true; // clean up first; then exit 130
        string name = context.Signal switch { PosixSignal.SIGINT => "INT", PosixSignal.SIGHUP => "HUP", _ => "TERM" };
        Console.Error.WriteLine(Interlocked.Increment(ref _signals) == 1
            ? $"\n{_program}: interrupted (SIG{name}); removing the lab"
            : $"{_program}: SIG{name} again; still removing the lab");
        _cancel.Cancel();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
            registration.Dispose();
        _cancel.Dispose();
    }
}
