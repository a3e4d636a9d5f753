namespace Dataplane.Wire.Tests.Captures;

public class PcapReaderTests
{
    // A little-endian microsecond file with one 4-byte record, as tcpdump writes on x86.
    private static readonly byte[] LittleEndianMicroseconds =
    [
        0xD4, 0xC3, 0xB2, 0xA1, 0x02, 0x00, 0x04, 0x00, // magic, version 2.4
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // thiszone, sigfigs
        0x00, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, // snaplen 262144, Ethernet
        0x01, 0x00, 0x00, 0x00, 0x3F, 0x42, 0x0F, 0x00, // 1 s, 999999 us
        0x04, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x00, 0x00, // 4 captured of 60
        0xDE, 0xAD, 0xBE, 0xEF,
    ];

    // The same kind of file written big-endian with nanosecond timestamps, two records.
    private static readonly byte[] BigEndianNanoseconds =
    [
        0xA1, 0xB2, 0x3C, 0x4D, 0x00, 0x02, 0x00, 0x04,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0xFF, 0xFF, 0x10, 0x00, 0x00, 0x01, // snaplen 65535, FCS bits above Ethernet
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x01, 0xF4, // 2 s, 500 ns
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02,
        0x01, 0x02,
        0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // an empty record
    ];

    [Fact]
    public void Reads_little_endian_microsecond_files()
    {
        var reader = new PcapReader(LittleEndianMicroseconds);

        Assert.False(reader.IsNanosecond);
        Assert.Equal((2, 4), (reader.VersionMajor, reader.VersionMinor));
        Assert.Equal(262144, reader.SnapLength);
        Assert.Equal(PcapReader.LinkTypeEthernet, reader.LinkType);
        PcapRecord record = Assert.Single(reader.Records());
        Assert.Equal(DateTimeOffset.UnixEpoch.AddSeconds(1).AddTicks(999_999 * 10), record.Timestamp);
        Assert.Equal(new byte[] { 0xDE, 0xAD, 0xBE, 0xEF }, record.Frame);
        Assert.Equal(60, record.OriginalLength);
        Assert.True(record.IsTruncated);
    }

    [Fact]
    public void Reads_big_endian_nanosecond_files_and_ignores_fcs_bits_of_the_link_type()
    {
        var reader = new PcapReader(BigEndianNanoseconds);

        Assert.True(reader.IsNanosecond);
        Assert.Equal(65535, reader.SnapLength);
        Assert.Equal(PcapReader.LinkTypeEthernet, reader.LinkType);
        PcapRecord[] records = [.. reader.Records()];
        Assert.Equal(2, records.Length);
        Assert.Equal(DateTimeOffset.UnixEpoch.AddSeconds(2).AddTicks(5), records[0].Timestamp);
        Assert.Equal(new byte[] { 0x01, 0x02 }, records[0].Frame);
        Assert.False(records[0].IsTruncated);
        Assert.Empty(records[1].Frame);
    }

    [Fact]
    public void Refuses_pcapng_and_truncated_records()
    {
        byte[] pcapng = [0x0A, 0x0D, 0x0D, 0x0A, .. new byte[24]];
        Assert.Throws<InvalidDataException>(() => new PcapReader(pcapng));
        Assert.Throws<InvalidDataException>(() => new PcapReader(LittleEndianMicroseconds[..20]));

        var cut = new PcapReader(LittleEndianMicroseconds[..^1]);
        Assert.Throws<InvalidDataException>(() => cut.Records().ToList());
    }
}
