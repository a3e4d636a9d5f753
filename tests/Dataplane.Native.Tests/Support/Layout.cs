namespace Dataplane.Native.Tests.Support;

/// <summary>Field offsets of unmanaged structs, as C's offsetof gives them.</summary>
internal static unsafe class Layout
{
    /// <summary>The byte distance from <paramref name="start"/> to <paramref name="field"/>.</summary>
    public static int Offset(void* start, void* field) => (int)((byte*)field - (byte*)start);
}
