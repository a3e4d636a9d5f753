using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// The scoreboard alone: its byte counters (SACKed, lost, sent again) and RFC 6675's pipe checked
/// against an independent model, a list of segments with three flags whose counters are recounted
/// from scratch after every operation, under random sequences of the operations the sender uses.
/// The hints that keep an ACK's work constant are checked the same way: what RACK walks (the
/// first segment in flight once; those sent again, in the order last sent), IsLost's marks from
/// the loss line, and SACK blocks taken again or grown (the remembered blocks).
/// </summary>
public class TcpScoreboardTests
{
    private const int Mss = 1000;

    /// <summary>One segment of the model: offsets from the first sequence number, and the RFC 6675 flags.</summary>
    private sealed class ModelSegment
    {
        public long Start;
        public int Length;
        public bool Sacked;
        public bool Lost;
        public bool Retransmitted;
        public long ResentAt; // the step of the last Resent: the order RACK walks those sent again
        public long End => Start + Length;
    }

    /// <summary>
    /// The model: RFC 6675's scoreboard as plainly as it can be written. The pipe (RFC 6675 4,
    /// SetPipe) counts every octet neither SACKed nor judged lost once, and once more when it was sent again.
    /// </summary>
    private sealed class Model
    {
        public readonly List<ModelSegment> Segments = [];
        public long Una;
        public long Nxt;

        public int Sacked => (int)Segments.Where(s => s.Sacked).Sum(s => (long)s.Length);
        public int Lost => (int)Segments.Where(s => s.Lost).Sum(s => (long)s.Length);
        public int Retransmitted => (int)Segments.Where(s => s.Retransmitted).Sum(s => (long)s.Length);
        public int Pipe => (int)Segments.Sum(s => (!s.Sacked && !s.Lost ? s.Length : 0) + (s.Retransmitted ? s.Length : 0));

        public bool MarkLost(int i)
        {
            ModelSegment s = Segments[i];
            if (s.Sacked || (s.Lost && !s.Retransmitted))
                return false;
            s.Lost = true;
            s.Retransmitted = false;
            return true;
        }

        public void Resent(int i, long step)
        {
            if (!Segments[i].Sacked)
            {
                Segments[i].Retransmitted = true;
                Segments[i].ResentAt = step;
            }
        }

        public int Sack(long left, long right)
        {
            int newly = 0;
            foreach (ModelSegment s in Segments)
            {
                if (s.Sacked || s.Start < left || s.End > right)
                    continue;
                s.Sacked = true;
                s.Lost = s.Retransmitted = false;
                newly += s.Length;
            }
            return newly;
        }

        public void Acknowledge(long ack)
        {
            Segments.RemoveAll(s => s.End <= ack);
            if (Segments.Count > 0 && Segments[0].Start < ack)
            {
                Segments[0].Length -= (int)(ack - Segments[0].Start);
                Segments[0].Start = ack;
            }
            Una = Math.Max(Una, ack);
        }

        /// <summary>RFC 6675 4, IsLost: DupThresh SACKed segments, or more than (DupThresh - 1) SMSS SACKed, above.</summary>
        public int MarkLostBySack(int mss)
        {
            int marked = 0;
            for (int i = 0; i < Segments.Count; i++)
            {
                ModelSegment s = Segments[i];
                if (s.Sacked || s.Lost)
                    continue;
                var above = Segments.Skip(i + 1).Where(a => a.Sacked).ToList();
                if ((above.Count >= 3 || above.Sum(a => a.Length) > 2 * mss) && MarkLost(i))
                    marked++;
            }
            return marked;
        }
    }

    [Theory]
    [InlineData(1, 0u)]
    [InlineData(2, 0xFFFF_F000u)] // the sequence space wraps under the record
    [InlineData(3, 0x7FFF_FF00u)]
    [InlineData(4, 12345u)]
    [InlineData(5, 0xFFFF_FFFFu)]
    [InlineData(6, 99u)]
    [InlineData(7, 0x8000_0000u)]
    [InlineData(8, 4242u)]
    public void Counters_flags_and_pipe_agree_with_a_recounted_model_under_random_operations(int seed, uint iss)
    {
        var random = new Random(seed);
        var board = new TcpScoreboard();
        var model = new Model();
        var recent = new List<(long Left, long Right)>();
        TcpSequence Seq(long offset) => new TcpSequence(iss) + (int)offset;

        for (int step = 0; step < 20_000; step++)
        {
            int op = random.Next(100);
            string what;
            if (op < 25 || model.Segments.Count == 0)
            {
                // A segment sent for the first time (now and then a FIN's extra octet, or a short one).
                if (model.Nxt - model.Una > 200 * Mss)
                    continue;
                int length = random.Next(4) == 0 ? random.Next(1, Mss + 1) : Mss;
                board.Append(Seq(model.Nxt), length, step + 1);
                model.Segments.Add(new ModelSegment { Start = model.Nxt, Length = length });
                model.Nxt += length;
                what = $"append {length}";
            }
            else if (op < 35)
            {
                int i = random.Next(model.Segments.Count);
                board.Resent(i, step + 1);
                model.Resent(i, step + 1);
                what = $"resent {i}";
            }
            else if (op < 36)
            {
                // A timeout's reneging (RFC 2018 8): the segment at SND.UNA is no longer taken as SACKed.
                board.Unsack(0);
                model.Segments[0].Sacked = false;
                what = "unsack 0";
            }
            else if (op < 45)
            {
                int i = random.Next(model.Segments.Count);
                bool got = board.MarkLost(i);
                Assert.Equal(model.MarkLost(i), got);
                what = $"mark lost {i}";
            }
            else if (op < 47)
            {
                Assert.Equal(model.Segments.Count(s => !s.Sacked && !(s.Lost && !s.Retransmitted)), board.MarkAllLost());
                for (int i = 0; i < model.Segments.Count; i++)
                    model.MarkLost(i);
                what = "mark all lost";
            }
            else if (op < 60)
            {
                // A cumulative ACK, sometimes inside a segment (cut by the peer, or a probe's byte).
                long ack = model.Una + random.Next(0, (int)Math.Min(model.Nxt - model.Una, 8 * Mss) + 1);
                var delivered = default(DeliveryInfo);
                board.Acknowledge(Seq(ack), ref delivered);
                model.Acknowledge(ack);
                what = $"ack {ack}";
            }
            else if (op < 85)
            {
                // A SACK block inside SND.UNA..SND.NXT (the socket checks that); edges anywhere, on
                // segment boundaries or not, overlapping what is SACKed already or not; often one
                // taken before again, or grown at either end, as a peer's blocks are from ACK to ACK.
                long span = model.Nxt - model.Una;
                long left = model.Una + random.NextInt64(span);
                long right = left + 1 + random.NextInt64(model.Nxt - left);
                int kind = random.Next(4);
                if (kind == 0)
                {
                    ModelSegment a = model.Segments[random.Next(model.Segments.Count)];
                    ModelSegment b = model.Segments[random.Next(model.Segments.Count)];
                    (left, right) = (Math.Min(a.Start, b.Start), Math.Max(a.End, b.End));
                }
                else if (kind >= 2 && recent.Count > 0)
                {
                    (long l, long r) = recent[random.Next(recent.Count)];
                    if (kind == 3)
                    {
                        l -= random.Next(0, 2 * Mss);
                        r += random.Next(0, 2 * Mss);
                    }
                    (left, right) = (Math.Max(l, model.Una), Math.Min(r, model.Nxt));
                    if (right <= left)
                        continue;
                }
                recent.Add((left, right));
                if (recent.Count > 6)
                    recent.RemoveAt(0);
                var delivered = default(DeliveryInfo);
                int newly = board.Sack(Seq(left), Seq(right), ref delivered);
                Assert.Equal(model.Sack(left, right), newly);
                what = $"sack {left}-{right}";
            }
            else if (op < 95)
            {
                Assert.Equal(model.MarkLostBySack(Mss), board.MarkLostBySack(Mss));
                what = "mark lost by sack";
            }
            else
            {
                // A retransmission under a smaller MSS cuts a segment.
                int i = random.Next(model.Segments.Count);
                ModelSegment s = model.Segments[i];
                if (s.Length < 2)
                    continue;
                int first = random.Next(1, s.Length);
                board.Split(i, first);
                var rest = new ModelSegment { Start = s.Start + first, Length = s.Length - first, Sacked = s.Sacked, Lost = s.Lost, Retransmitted = s.Retransmitted, ResentAt = s.ResentAt };
                s.Length = first;
                model.Segments.Insert(i + 1, rest);
                what = $"split {i} at {first}";
            }

            string context = $"seed {seed}, step {step}: {what}";
            Assert.True(model.Segments.Count == board.Count, context);
            for (int i = 0; i < board.Count; i++)
            {
                ModelSegment m = model.Segments[i];
                SentSegment s = board[i];
                Assert.True(Seq(m.Start) == s.Start && m.Length == s.Length, $"{context}: segment {i} is {s.Start}+{s.Length}, the model's {Seq(m.Start)}+{m.Length}");
                Assert.True(m.Sacked == s.Sacked && m.Lost == s.Lost && m.Retransmitted == s.Retransmitted, $"{context}: flags of segment {i}");
                // RFC 6675: a SACKed segment is neither lost nor in flight again.
                Assert.False(s.Sacked && (s.Lost || s.Retransmitted), context);
            }
            Assert.True(model.Sacked == board.SackedBytes, $"{context}: SACKed {board.SackedBytes}, recounted {model.Sacked}");
            Assert.True(model.Lost == board.LostBytes, $"{context}: lost {board.LostBytes}, recounted {model.Lost}");
            Assert.True(model.Retransmitted == board.RetransmittedBytes, $"{context}: sent again {board.RetransmittedBytes}, recounted {model.Retransmitted}");
            int outstanding = (int)(model.Nxt - model.Una);
            Assert.True(model.Pipe == board.Pipe(outstanding), $"{context}: pipe {board.Pipe(outstanding)}, recounted {model.Pipe}");
            Assert.InRange(board.Pipe(outstanding), 0, 2 * outstanding);
            int firstLost = model.Segments.FindIndex(x => x.Lost && !x.Retransmitted);
            Assert.Equal(firstLost, board.FirstLost());
            Assert.Equal(model.Segments.FindLastIndex(x => !x.Sacked), board.LastUnsacked());
            // RACK's walks: the first original in flight, and those sent again in the order last sent.
            int firstOnce = model.Segments.FindIndex(x => !x.Sacked && !x.Lost && !x.Retransmitted);
            Assert.True((firstOnce < 0 ? model.Segments.Count : firstOnce) == board.FirstInFlightOnce(), $"{context}: first in flight once");
            List<int> resent = [.. Enumerable.Range(0, model.Segments.Count).Where(i => model.Segments[i].Retransmitted).OrderBy(i => model.Segments[i].ResentAt).ThenBy(i => i)];
            var walked = new List<int>();
            for (int i = board.FirstResent(); i >= 0 && walked.Count <= board.Count; i = board.NextResent(i))
                walked.Add(i);
            Assert.True(resent.SequenceEqual(walked), $"{context}: sent again in the order [{string.Join(",", resent)}], the list walks [{string.Join(",", walked)}]");
        }
    }

    /// <summary>RFC 2018 4 with the CVE-2019-11477 lesson: a block marks whole segments only; one that covers part of a segment marks nothing of it.</summary>
    [Fact]
    public void A_block_that_covers_part_of_a_segment_marks_none_of_it()
    {
        var board = new TcpScoreboard();
        var start = new TcpSequence(5000);
        for (int i = 0; i < 4; i++)
            board.Append(start + i * Mss, Mss, 1);
        var delivered = default(DeliveryInfo);

        Assert.Equal(0, board.Sack(start + Mss + 1, start + 2 * Mss, ref delivered));
        Assert.Equal(Mss, board.Sack(start + Mss + 1, start + 3 * Mss, ref delivered)); // segment 2 whole, segment 1 in part
        Assert.False(board[1].Sacked);
        Assert.True(board[2].Sacked);
        Assert.Equal(4, board.Count);
    }

    /// <summary>RFC 6675 4, IsLost: three SACKed segments above a hole make it lost; two of full size do not (2 SMSS is not more than (DupThresh - 1) SMSS).</summary>
    [Fact]
    public void A_hole_is_lost_once_three_segments_above_it_are_sacked()
    {
        var board = new TcpScoreboard();
        var start = new TcpSequence(1);
        for (int i = 0; i < 5; i++)
            board.Append(start + i * Mss, Mss, 1);
        var delivered = default(DeliveryInfo);
        board.Sack(start + Mss, start + 3 * Mss, ref delivered);
        Assert.Equal(0, board.MarkLostBySack(Mss));

        board.Sack(start + 4 * Mss, start + 5 * Mss, ref delivered);
        Assert.Equal(1, board.MarkLostBySack(Mss)); // segment 0; segment 3 has one SACKed segment above it
        Assert.True(board[0].Lost);
        Assert.False(board[3].Lost);
    }
}
