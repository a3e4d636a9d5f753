using Dataplane.Wire;

namespace Dataplane.Wire.Tests.Transport;

public class TcpOptionsValueTests
{
    // The options of a SYN as Linux 6.1 sends it: MSS 1460, SACK-permitted, timestamps, NOP, window scale 7.
    private static readonly byte[] LinuxSynOptions =
    [
        0x02, 0x04, 0x05, 0xb4,
        0x04, 0x02, 0x08, 0x0a, 0x9c, 0x2e, 0x5a, 0x11, 0x00, 0x00, 0x00, 0x00,
        0x01, 0x03, 0x03, 0x07,
    ];

    private static TcpSegment Segment(byte[] options)
    {
        byte[] bytes = new byte[TcpSegment.FixedLength + options.Length];
        new TcpSegment.Repr { DataOffset = (byte)(bytes.Length / 4), Flags = TcpFlags.Syn }.Emit(bytes);
        options.CopyTo(bytes, TcpSegment.FixedLength);
        Assert.True(TcpSegment.TryCreate(bytes, out TcpSegment segment));
        return segment;
    }

    [Fact]
    public void Parses_the_options_of_a_Linux_SYN()
    {
        Assert.True(TcpOptions.TryParse(Segment(LinuxSynOptions), out TcpOptions options));

        Assert.Equal((ushort)1460, options.MaximumSegmentSize);
        Assert.True(options.SackPermitted);
        Assert.Equal((0x9c2e5a11u, 0u), options.Timestamps);
        Assert.Equal((byte)7, options.WindowScale);
        Assert.Equal(0, options.SackBlockCount);
    }

    [Fact]
    public void Emits_the_same_bytes_Linux_sends()
    {
        var options = new TcpOptions { MaximumSegmentSize = 1460, SackPermitted = true, Timestamps = (0x9c2e5a11u, 0u), WindowScale = 7 };
        byte[] written = new byte[40];

        int n = options.Emit(written);

        Assert.Equal(LinuxSynOptions.Length, n);
        Assert.Equal(n, options.Length);
        Assert.Equal(LinuxSynOptions, written[..n]);
    }

    [Fact]
    public void Sack_blocks_round_trip_with_padding_to_a_word()
    {
        var options = new TcpOptions { Timestamps = (1, 2) };
        Assert.True(options.AddSackBlock(new TcpSackBlock(100, 200)));
        Assert.True(options.AddSackBlock(new TcpSackBlock(300, 400)));
        byte[] written = new byte[40];

        int n = options.Emit(written);
        Assert.Equal(0, n % 4);
        Assert.True(TcpOptions.TryParse(Segment(written[..n]), out TcpOptions parsed));

        Assert.Equal(options, parsed);
        Assert.Equal(new TcpSackBlock(300, 400), parsed.SackBlock(1));
    }

    [Fact]
    public void At_most_four_sack_blocks_are_held()
    {
        var options = new TcpOptions();
        for (uint i = 0; i < TcpOptions.MaxSackBlocks; i++)
            Assert.True(options.AddSackBlock(new TcpSackBlock(i, i + 1)));
        Assert.False(options.AddSackBlock(new TcpSackBlock(9, 10)));
    }

    [Fact]
    public void Unknown_options_are_skipped()
    {
        // Kind 30 (MPTCP) with 4 bytes of data, then MSS.
        byte[] bytes = [30, 6, 1, 2, 3, 4, 0x02, 0x04, 0x05, 0xb4];
        Assert.True(TcpOptions.TryParse(Segment([.. bytes, 0, 0]), out TcpOptions options));
        Assert.Equal((ushort)1460, options.MaximumSegmentSize);
    }

    [Theory]
    [InlineData(new byte[] { 0x02, 0x03, 0x05, 0x00 })] // MSS with length 3
    [InlineData(new byte[] { 0x03, 0x04, 0x07, 0x00 })] // window scale with length 4
    [InlineData(new byte[] { 0x05, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })] // SACK whose data is not whole blocks
    [InlineData(new byte[] { 0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 0 })] // timestamps running past the options
    public void A_known_option_with_an_impossible_length_refuses_the_set(byte[] bytes)
    {
        Assert.False(TcpOptions.TryParse(Segment(bytes), out _));
    }

    [Fact]
    public void Options_that_do_not_fit_in_forty_bytes_are_refused_on_emit()
    {
        var options = new TcpOptions { MaximumSegmentSize = 1460, Timestamps = (1, 2), WindowScale = 1 };
        for (uint i = 0; i < TcpOptions.MaxSackBlocks; i++)
            options.AddSackBlock(new TcpSackBlock(i, i));
        Assert.True(options.Length > 40);
        Assert.Throws<ArgumentException>(() => options.Emit(new byte[64]));
    }
}

public class TcpOptionsSackLimitTests
{
    [Fact]
    public void Beside_timestamps_only_the_three_most_recent_sack_blocks_go_out()
    {
        var options = new TcpOptions { Timestamps = (1, 2) };
        for (uint i = 0; i < TcpOptions.MaxSackBlocks; i++)
            Assert.True(options.AddSackBlock(new TcpSackBlock(i * 10, i * 10 + 5)));
        byte[] written = new byte[40];

        int n = options.Emit(written);

        Assert.Equal(40, n); // RFC 2018 3: 12 bytes of timestamps, 4 + 3 * 8 of SACK
        Assert.Equal(n, options.Length);
        byte[] segment = new byte[TcpSegment.FixedLength + n];
        new TcpSegment.Repr { DataOffset = (byte)(segment.Length / 4) }.Emit(segment);
        written.CopyTo(segment, TcpSegment.FixedLength);
        Assert.True(TcpSegment.TryCreate(segment, out TcpSegment tcp));
        Assert.True(TcpOptions.TryParse(tcp, out TcpOptions parsed));
        Assert.Equal(3, parsed.SackBlockCount);
        Assert.Equal(new TcpSackBlock(20, 25), parsed.SackBlock(2));
    }
}
