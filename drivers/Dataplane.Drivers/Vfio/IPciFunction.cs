using Dataplane.Native;

namespace Dataplane.Drivers.Vfio;

/// <summary>
/// One PCI function as a driver sees it: config space, its BARs as register regions, bus mastering,
/// reset, MSI-X vectors as eventfds, and the DMA memory it may reach. Behind an interface, as TinyNF
/// and ixy keep PCI and DMA, so a driver runs in-process against a fake device in tests
/// (<c>FakeVirtioNetDevice</c>) and against the real one through <see cref="VfioPciFunction"/>.
/// Control path, except <see cref="IMmioRegion"/> writes (a queue's doorbell).
/// </summary>
internal interface IPciFunction : IDisposable
{
    /// <summary>The function's address, <c>DDDD:BB:DD.F</c>, for messages.</summary>
    string Address { get; }

    /// <summary>The config-space byte at <paramref name="offset"/>.</summary>
    byte ReadConfig8(int offset);

    /// <summary>The config-space <c>u16</c> at <paramref name="offset"/> (little-endian, as PCI is).</summary>
    ushort ReadConfig16(int offset);

    /// <summary>The config-space <c>u32</c> at <paramref name="offset"/>.</summary>
    uint ReadConfig32(int offset);

    /// <summary>Writes the config-space byte at <paramref name="offset"/>.</summary>
    void WriteConfig8(int offset, byte value);

    /// <summary>Writes the config-space <c>u16</c> at <paramref name="offset"/>.</summary>
    void WriteConfig16(int offset, ushort value);

    /// <summary>Writes the config-space <c>u32</c> at <paramref name="offset"/>.</summary>
    void WriteConfig32(int offset, uint value);

    /// <summary>Memory BAR <paramref name="index"/> (0-5) as a register region; throws when it is not a mappable memory BAR.</summary>
    IMmioRegion Bar(int index);

    /// <summary>Sets Bus Master Enable (and Memory Space Enable) in the command register: the device may do DMA.</summary>
    void EnableBusMastering();

    /// <summary>A function-level reset, if the function has one; false if it has none.</summary>
    bool Reset();

    /// <summary>
    /// Enables MSI-X with <paramref name="vectors"/> vectors, vector i signalling eventfd i of the
    /// answer; the function owns the eventfds until <see cref="DisableMsix"/> or dispose.
    /// </summary>
    IReadOnlyList<EventFd> EnableMsix(int vectors);

    /// <summary>Turns MSI-X off and closes its eventfds; nothing if it was off.</summary>
    void DisableMsix();

    /// <summary>The DMA memory the function may reach: rings, and the buffer pool once mapped.</summary>
    IDmaMemory Dma { get; }
}

/// <summary>
/// A BAR's registers: every access volatile, at the width asked for, in program order (a device
/// register may act on a read, and a 32-bit register must not be written as four bytes).
/// </summary>
internal interface IMmioRegion
{
    /// <summary>The region's length in bytes.</summary>
    int Length { get; }

    /// <summary>The byte register at <paramref name="offset"/>.</summary>
    byte Read8(int offset);

    /// <summary>The <c>u16</c> register at <paramref name="offset"/>.</summary>
    ushort Read16(int offset);

    /// <summary>The <c>u32</c> register at <paramref name="offset"/>.</summary>
    uint Read32(int offset);

    /// <summary>The <c>u64</c> register at <paramref name="offset"/>, as one 64-bit read (a NIC's 64-bit counter).</summary>
    ulong Read64(int offset);

    /// <summary>Writes the byte register at <paramref name="offset"/>.</summary>
    void Write8(int offset, byte value);

    /// <summary>Writes the <c>u16</c> register at <paramref name="offset"/>.</summary>
    void Write16(int offset, ushort value);

    /// <summary>Writes the <c>u32</c> register at <paramref name="offset"/>.</summary>
    void Write32(int offset, uint value);

    /// <summary>
    /// Writes a <c>u64</c> register at <paramref name="offset"/>, as two <c>u32</c> writes, low half
    /// first: virtio 1.2 §4.1.3.1 lets a driver write a 64-bit field so, and not every bus takes a
    /// 64-bit access.
    /// </summary>
    void Write64(int offset, ulong value);
}

/// <summary>A register region over mapped memory (a BAR mapped with mmap): <see cref="Mmio"/>'s volatile accessors.</summary>
internal sealed class MappedMmioRegion(PinnedMemory mapping) : IMmioRegion
{
    /// <inheritdoc/>
    public int Length { get; } = (int)Math.Min(mapping.Length, int.MaxValue);

    /// <inheritdoc/>
    public byte Read8(int offset) => Mmio.Read8(mapping.Span, offset);

    /// <inheritdoc/>
    public ushort Read16(int offset) => Mmio.Read16(mapping.Span, offset);

    /// <inheritdoc/>
    public uint Read32(int offset) => Mmio.Read32(mapping.Span, offset);

    /// <inheritdoc/>
    public ulong Read64(int offset) => Mmio.Read64(mapping.Span, offset);

    /// <inheritdoc/>
    public void Write8(int offset, byte value) => Mmio.Write8(mapping.Span, offset, value);

    /// <inheritdoc/>
    public void Write16(int offset, ushort value) => Mmio.Write16(mapping.Span, offset, value);

    /// <inheritdoc/>
    public void Write32(int offset, uint value) => Mmio.Write32(mapping.Span, offset, value);

    /// <inheritdoc/>
    public void Write64(int offset, ulong value)
    {
        Mmio.Write32(mapping.Span, offset, (uint)value);
        Mmio.Write32(mapping.Span, offset + 4, (uint)(value >> 32));
    }
}
