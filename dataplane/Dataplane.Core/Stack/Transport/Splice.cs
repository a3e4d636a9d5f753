namespace Dataplane.Stack.Transport;

/// <summary>
/// Why a splice dissolved: what OpenBSD reports in the source socket's so_error after sounsplice,
/// here kept on the source (<c>SpliceEnded</c>) and handed to its app, which may read the source
/// again from then on.
/// </summary>
internal enum SpliceEnd : byte
{
    /// <summary>Still spliced, or never was.</summary>
    None,

    /// <summary>The source's peer finished its stream (FIN) and every byte before it moved: no error in OpenBSD.</summary>
    EndOfStream,

    /// <summary>The drain cannot send any more: shut down, closed or reset (EPIPE).</summary>
    DrainGone,

    /// <summary>The maximum given to the splice was moved (EFBIG); what came after it waits for the app.</summary>
    MaximumReached,

    /// <summary>Nothing moved for the idle timeout given to the splice (ETIMEDOUT).</summary>
    IdleTimeout,

    /// <summary>The source's connection failed (reset, timed out, aborted): its <c>Error</c> says how.</summary>
    SourceError,

    /// <summary>A datagram larger than the drain can send in one (EMSGSIZE; UDP).</summary>
    MessageTooLong,

    /// <summary>The app unspliced the source.</summary>
    Unspliced,
}
