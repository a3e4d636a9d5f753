using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// The record of one recovery episode's retransmissions alone: each proves needless once, by
/// its own range (RFC 3708 2, DSACK; RFC 3522, Eifel), so that a repeated DSACK (an ACK the
/// network duplicated) or one for data never sent again proves nothing.
/// </summary>
public class SpuriousRetransmissionsTests
{
    private static readonly TcpSequence S = new(0xFFFF_F000); // the sequence space wraps under the episode

    private static SpuriousRetransmissions Episode(int retransmissions)
    {
        var record = default(SpuriousRetransmissions);
        record.Begin(default);
        for (int i = 0; i < retransmissions; i++)
            record.Sent(S + i * 1000, S + (i + 1) * 1000);
        return record;
    }

    [Fact]
    public void Every_retransmission_must_be_shown_needless_each_by_its_own_evidence()
    {
        SpuriousRetransmissions record = Episode(2);
        Assert.False(record.AllNeedless);
        record.Duplicated(S, S + 1000);
        record.Duplicated(S, S + 1000); // the same DSACK again: a duplicated ACK
        Assert.False(record.AllNeedless);
        record.Duplicated(S + 5000, S + 6000); // an original the network duplicated
        Assert.False(record.AllNeedless);
        record.AcknowledgedOriginal(S + 1000, S + 2000);
        Assert.True(record.AllNeedless);
    }

    [Fact]
    public void A_segment_sent_again_twice_needs_two_proofs()
    {
        SpuriousRetransmissions record = Episode(1);
        record.Sent(S, S + 1000);
        record.Duplicated(S, S + 1000);
        Assert.False(record.AllNeedless);
        record.Duplicated(S, S + 1000);
        Assert.True(record.AllNeedless);
    }

    [Fact]
    public void An_episode_of_more_retransmissions_than_kept_is_never_undone_nor_one_of_none()
    {
        Assert.False(Episode(0).AllNeedless);
        SpuriousRetransmissions record = Episode(SpuriousRetransmissions.Kept + 1);
        for (int i = 0; i <= SpuriousRetransmissions.Kept; i++)
            record.Duplicated(S + i * 1000, S + (i + 1) * 1000);
        Assert.False(record.AllNeedless);
    }

    [Fact]
    public void Nothing_counts_once_the_watch_stopped()
    {
        SpuriousRetransmissions record = Episode(1);
        record.Stop();
        record.Duplicated(S, S + 1000);
        Assert.False(record.AllNeedless);
    }
}
