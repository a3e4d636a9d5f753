namespace Dataplane.Stack;

/// <summary>
/// A token bucket for packets the stack sends unasked, errors and resets: <see cref="PerSecond"/> a
/// second with bursts of as many, as OpenBSD's net.inet.icmp.errppslimit and
/// net.inet.tcp.rstppslimit (both 100) and RFC 1812 4.3.2.8 ask. One per worker and kind: no sharing,
/// and no global counter an attacker could read the state of through its effects (CVE-2016-5696).
/// </summary>
internal struct PacketRateLimit(long now)
{
    /// <summary>Packets a worker sends a second, at most.</summary>
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
