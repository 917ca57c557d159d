using System.Runtime.InteropServices;
using ChitChat.Storage;

namespace ChitChat.Replication;

/// <summary>A digest bucket: messages and update events per room in ranges of <see cref="ReplicationOptions.AntiEntropyBucketSize"/> sequence numbers, users, rooms, memberships and read markers in 16 buckets by id.</summary>
/// <param name="Kind">The kind of document.</param>
/// <param name="Room">The room (messages, update events), or empty.</param>
/// <param name="Bucket">The bucket number.</param>
internal readonly record struct DigestBucket(DocumentKind Kind, string Room, long Bucket);

/// <summary>The summary of one bucket: the count and the order-independent sum of the documents' hashes.</summary>
/// <param name="Sum">The sum of <see cref="DigestLayout.Hash"/> over the bucket's documents.</param>
/// <param name="Count">The documents in the bucket.</param>
internal record struct BucketSummary(ulong Sum, long Count);

/// <summary>How documents fall into digest buckets and how one document is hashed (the same on both sides).</summary>
/// <param name="BucketSize">The width in sequence numbers of one message bucket.</param>
internal sealed record DigestLayout(int BucketSize)
{
    /// <summary>The kinds a digest covers, in scan order.</summary>
    public static readonly DocumentKind[] Kinds =
        [DocumentKind.User, DocumentKind.Room, DocumentKind.Message, DocumentKind.Membership, DocumentKind.MessageUpdate, DocumentKind.ReadMarker];

    /// <summary>Messages and update events fall into per-room ranges of sequence numbers; the other kinds into 16 buckets by id.</summary>
    public DigestBucket Bucket(ChangeRecord change) => change.Kind switch
    {
        DocumentKind.Message => new DigestBucket(DocumentKind.Message, change.Message!.Room, (change.Message.Seq - 1) / BucketSize),
        DocumentKind.MessageUpdate => new DigestBucket(DocumentKind.MessageUpdate, change.Update!.Room, (change.Update.Seq - 1) / BucketSize),
        _ => new DigestBucket(change.Kind, string.Empty, (long)(Mix(IdBits(change.DocumentId).Low) & 0xF)),
    };

    /// <summary>A deterministic 64-bit hash of (id, version) and, for messages, (room, seq), for update events (room, seq,
    /// message, message version): what "the same document" means to anti-entropy. A message's version moves with every
    /// edit, delete and reaction, so a replica holding an older state of a message differs here.</summary>
    public static ulong Hash(ChangeRecord change)
    {
        var (high, low) = IdBits(change.DocumentId);
        var h = Mix(high ^ Mix(low ^ Mix((ulong)change.DocumentVersion)));
        if (change.Message is { } m)
        {
            h = MixRoomSeq(h, m.Room, m.Seq);
        }
        else if (change.Update is { } u)
        {
            h = MixRoomSeq(h, u.Room, u.Seq);
            var (mHigh, mLow) = IdBits(u.MessageId);
            h = Mix(h ^ Mix(mHigh ^ Mix(mLow ^ (ulong)u.MessageVersion)));
        }

        return h;
    }

    private static ulong MixRoomSeq(ulong h, string room, long seq)
    {
        h = Mix(h ^ (ulong)seq);
        foreach (var c in room)
        {
            h = Mix(h ^ c);
        }

        return h;
    }

    private static (ulong High, ulong Low) IdBits(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes);
        return (BitConverter.ToUInt64(bytes[..8]), BitConverter.ToUInt64(bytes[8..]));
    }

    private static ulong Mix(ulong x)
    {
        // splitmix64 finalizer
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}

/// <summary>
/// Anti-entropy step 1 (digest), what one store holds: first summarised per bucket (<see cref="StoreDigest"/>, one scan,
/// memory per bucket), then, for the buckets whose summaries differ between the two sides, per kind and document id
/// (<see cref="DocumentDigest"/>).
/// </summary>
/// <remarks>
/// The bucket pass keeps a full comparison of millions of documents in constant memory per bucket: only buckets that
/// differ are read again document by document, so the cost of a verification is one scan of each side plus the drift.
/// </remarks>
internal sealed class StoreDigest
{
    private readonly Dictionary<DigestBucket, BucketSummary> _buckets;

    private StoreDigest(Dictionary<DigestBucket, BucketSummary> buckets, long count)
    {
        _buckets = buckets;
        Count = count;
    }

    /// <summary>Gets the summary per bucket.</summary>
    public IReadOnlyDictionary<DigestBucket, BucketSummary> Buckets => _buckets;

    /// <summary>Gets the documents the store holds.</summary>
    public long Count { get; }

    public static async Task<StoreDigest> BuildAsync(IChatStore store, DigestLayout layout, CancellationToken cancellationToken)
    {
        var buckets = new Dictionary<DigestBucket, BucketSummary>();
        long count = 0;
        foreach (var kind in DigestLayout.Kinds)
        {
            await foreach (var change in store.Replication.ScanAsync(kind, cancellationToken).ConfigureAwait(false))
            {
                Add(buckets, layout, change);
                count++;
            }
        }

        return new StoreDigest(buckets, count);
    }

    /// <summary>Builds the digest of given documents (tests).</summary>
    public static StoreDigest FromDocuments(IEnumerable<ChangeRecord> documents, DigestLayout layout)
    {
        var buckets = new Dictionary<DigestBucket, BucketSummary>();
        long count = 0;
        foreach (var change in documents)
        {
            Add(buckets, layout, change);
            count++;
        }

        return new StoreDigest(buckets, count);
    }

    /// <summary>Gets the buckets whose summaries differ between this side and <paramref name="other"/> (present on one side only included).</summary>
    public IReadOnlySet<DigestBucket> DifferingBuckets(StoreDigest other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var differing = new HashSet<DigestBucket>();
        foreach (var key in _buckets.Keys.Concat(other._buckets.Keys))
        {
            if (_buckets.GetValueOrDefault(key) != other._buckets.GetValueOrDefault(key))
            {
                differing.Add(key);
            }
        }

        return differing;
    }

    private static void Add(Dictionary<DigestBucket, BucketSummary> buckets, DigestLayout layout, ChangeRecord change)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(buckets, layout.Bucket(change), out _);
        slot.Sum = unchecked(slot.Sum + DigestLayout.Hash(change));
        slot.Count++;
    }
}

/// <summary>Anti-entropy step 1, document level: per kind and document id, the document a store holds (its version, and for messages its room and seq) within some buckets.</summary>
internal sealed class DocumentDigest
{
    private readonly Dictionary<(DocumentKind Kind, Guid Id), ChangeRecord> _documents;

    private DocumentDigest(Dictionary<(DocumentKind Kind, Guid Id), ChangeRecord> documents) => _documents = documents;

    /// <summary>Gets the documents by kind and id.</summary>
    public IReadOnlyDictionary<(DocumentKind Kind, Guid Id), ChangeRecord> Documents => _documents;

    /// <summary>Gets the version held of a document, or <see langword="null"/> when the store does not hold it.</summary>
    public long? VersionOf(DocumentKind kind, Guid id) => _documents.TryGetValue((kind, id), out var c) ? c.DocumentVersion : null;

    public static async Task<DocumentDigest> BuildAsync(IChatStore store, IReadOnlySet<DigestBucket> buckets, DigestLayout layout, CancellationToken cancellationToken)
    {
        var documents = new Dictionary<(DocumentKind, Guid), ChangeRecord>();
        foreach (var kind in DigestLayout.Kinds.Where(k => buckets.Any(b => b.Kind == k)))
        {
            await foreach (var change in store.Replication.ScanAsync(kind, cancellationToken).ConfigureAwait(false))
            {
                if (buckets.Contains(layout.Bucket(change)))
                {
                    documents[(change.Kind, change.DocumentId)] = change;
                }
            }
        }

        return new DocumentDigest(documents);
    }

    /// <summary>Builds the digest of given documents (tests).</summary>
    public static DocumentDigest FromDocuments(IEnumerable<ChangeRecord> documents)
    {
        var map = new Dictionary<(DocumentKind, Guid), ChangeRecord>();
        foreach (var change in documents)
        {
            map[(change.Kind, change.DocumentId)] = change;
        }

        return new DocumentDigest(map);
    }
}
