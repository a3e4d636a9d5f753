namespace Dataplane.Stack.Ip;

/// <summary>
/// A token bucket for ICMP errors: <see cref="PerSecond"/> a second with bursts of as many, as
/// OpenBSD's net.inet.icmp.errppslimit and RFC 1812 4.3.2.8 ask. One per worker: no sharing.
/// </summary>
internal struct IcmpRateLimit(long now)
{
    /// <summary>Errors a worker sends a second, at most.</summary>
    public const int PerSecond = 100;

    private long _tokens = PerSecond;
    private long _last = now;

    /// <summary>Takes one token at <paramref name="now"/>; false when the bucket is empty.</summary>
    public bool TryTake(long now)
    {
        long elapsed = now - _last;
        if (elapsed > 0)
        {
            long refill = elapsed * PerSecond / 1_000_000_000;
            if (refill > 0)
            {
                _tokens = Math.Min(PerSecond, _tokens + refill);
                _last = now;
            }
        }
        if (_tokens == 0)
            return false;
        _tokens--;
        return true;
    }
}
