using System.Globalization;

namespace Dataplane.Tests.Simulation;

/// <summary>
/// What one direction of a simulated link does to the frames it carries, in the terms of Linux's
/// netem: a rate with a bounded queue in front of it (tail drop), a base delay, and independent
/// chances of loss, duplication, corruption (bits of one byte flipped) and reordering (an extra
/// random delay that lets later frames pass). Times in nanoseconds.
/// </summary>
internal sealed record LinkModel
{
    /// <summary>A wire that does nothing wrong: 100 µs of delay, no rate limit.</summary>
    public static LinkModel Perfect { get; } = new();

    /// <summary>Chance that a frame is lost after it left the queue.</summary>
    public double Loss { get; init; }

    /// <summary>Chance that a frame arrives twice (the copy a little later).</summary>
    public double Duplicate { get; init; }

    /// <summary>Chance that a frame arrives with the bits of one byte flipped.</summary>
    public double Corrupt { get; init; }

    /// <summary>Chance that a frame is held back by up to <see cref="ReorderDelay"/> more.</summary>
    public double Reorder { get; init; }

    /// <summary>The most a reordered frame (or a duplicate) is held back.</summary>
    public long ReorderDelay { get; init; } = 2_000_000;

    /// <summary>The propagation delay every frame takes.</summary>
    public long Delay { get; init; } = 100_000;

    /// <summary>The rate in bits a second; 0 for none (frames leave as soon as they are sent).</summary>
    public long RateBitsPerSecond { get; init; }

    /// <summary>Frames that may wait for the wire behind a rate limit; one more is dropped (tail drop).</summary>
    public int QueueFrames { get; init; } = 64;

    /// <summary>
    /// A model drawn from <paramref name="random"/>: each impairment present or not, its chance up to
    /// the given maximum; delay 10 µs to 2 ms; a rate limit of 1 to 512 Mbit/s on one link in two.
    /// </summary>
    public static LinkModel Draw(SimRandom random, double maxLoss = 0.1, double maxDuplicate = 0.05, double maxCorrupt = 0.05, double maxReorder = 0.3)
    {
        double Maybe(double max) => random.Chance(0.7) ? random.NextDouble() * max : 0;
        bool limited = random.Chance(0.5);
        return new LinkModel
        {
            Loss = Maybe(maxLoss),
            Duplicate = Maybe(maxDuplicate),
            Corrupt = Maybe(maxCorrupt),
            Reorder = Maybe(maxReorder),
            ReorderDelay = 100_000 + random.NextLong(5_000_000),
            Delay = 10_000 + random.NextLong(2_000_000),
            RateBitsPerSecond = limited ? 1_000_000L << random.Next(10) : 0,
            QueueFrames = random.Between(4, 128),
        };
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"loss {Loss:P1} dup {Duplicate:P1} corrupt {Corrupt:P1} reorder {Reorder:P1}/{ReorderDelay / 1000}us delay {Delay / 1000}us rate {(RateBitsPerSecond == 0 ? "-" : $"{RateBitsPerSecond / 1000}kbit/s queue {QueueFrames}")}");
}
