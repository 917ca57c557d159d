using System.Runtime.CompilerServices;
using ChitChat.Storage;
using MongoDB.Driver;

namespace ChitChat.MongoDB;

public sealed partial class MongoChatStore
{
    private const int MaxConflictRounds = 4;

    Task<ChangeBatch> IReplicationStore.ReadChangesAsync(long afterPosition, int maxCount, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        return RunAsync("read changes", async ct =>
        {
            // Watermark first, documents second: see the class remarks.
            var upTo = await ReadWatermarkAsync(ct).ConfigureAwait(false);
            var changes = new List<ChangeRecord>();
            if (upTo > afterPosition)
            {
                var users = await _usersPrimary.Find(MongoDefinitions.PositionRange<UserDocument>(afterPosition, upTo))
                    .Sort(MongoDefinitions.PositionAscending<UserDocument>()).Limit(maxCount).ToListAsync(ct).ConfigureAwait(false);
                var rooms = await _roomsPrimary.Find(MongoDefinitions.PositionRange<RoomDocument>(afterPosition, upTo))
                    .Sort(MongoDefinitions.PositionAscending<RoomDocument>()).Limit(maxCount).ToListAsync(ct).ConfigureAwait(false);
                var messages = await _messagesPrimary.Find(MongoDefinitions.PositionRange<MessageDocument>(afterPosition, upTo))
                    .Sort(MongoDefinitions.PositionAscending<MessageDocument>()).Limit(maxCount).ToListAsync(ct).ConfigureAwait(false);
                var memberships = await _membershipsPrimary.Find(MongoDefinitions.PositionRange<MembershipDocument>(afterPosition, upTo))
                    .Sort(MongoDefinitions.PositionAscending<MembershipDocument>()).Limit(maxCount).ToListAsync(ct).ConfigureAwait(false);
                var updates = await _updatesPrimary.Find(MongoDefinitions.PositionRange<MessageUpdateDocument>(afterPosition, upTo))
                    .Sort(MongoDefinitions.PositionAscending<MessageUpdateDocument>()).Limit(maxCount).ToListAsync(ct).ConfigureAwait(false);
                var markers = await _markersPrimary.Find(MongoDefinitions.PositionRange<ReadMarkerDocument>(afterPosition, upTo))
                    .Sort(MongoDefinitions.PositionAscending<ReadMarkerDocument>()).Limit(maxCount).ToListAsync(ct).ConfigureAwait(false);

                // Each list holds the lowest maxCount positions of its collection, so the lowest maxCount overall are among them.
                changes.AddRange(users.Select(u => u.ToChange()));
                changes.AddRange(rooms.Select(r => r.ToChange()));
                changes.AddRange(messages.Select(m => m.ToChange()));
                changes.AddRange(memberships.Select(m => m.ToChange()));
                changes.AddRange(updates.Select(u => u.ToChange()));
                changes.AddRange(markers.Select(m => m.ToChange()));
                changes.Sort((a, b) => a.Position.CompareTo(b.Position));
                if (changes.Count > maxCount)
                {
                    changes.RemoveRange(maxCount, changes.Count - maxCount);
                }
            }

            var head = await HeadPositionAsync(ct).ConfigureAwait(false);
            return new ChangeBatch(changes, Math.Max(head, changes.Count == 0 ? 0 : changes[^1].Position));
        }, cancellationToken);
    }

    Task<long> IReplicationStore.GetHeadPositionAsync(CancellationToken cancellationToken) =>
        RunAsync("read head position", HeadPositionAsync, cancellationToken);

    Task<ReplicaCheckpoint?> IReplicationStore.GetCheckpointAsync(string sourceId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sourceId);
        return RunAsync("read checkpoint", async ct =>
        {
            var doc = await _checkpoints.Find(MongoDefinitions.CheckpointById(sourceId)).FirstOrDefaultAsync(ct).ConfigureAwait(false);
            return doc?.ToModel();
        }, cancellationToken);
    }

    Task<int> IReplicationStore.ApplyAsync(ReplicationWrite write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(write.Changes);
        ArgumentNullException.ThrowIfNull(write.SourceId);
        return RunAsync("apply replication batch", ct => ApplyCoreAsync(write, ct), cancellationToken);
    }

    async IAsyncEnumerable<ChangeRecord> IReplicationStore.ScanAsync(DocumentKind kind, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        switch (kind)
        {
            case DocumentKind.User:
                await foreach (var doc in ScanCollectionAsync(_usersPrimary, Builders<UserDocument>.Sort.Ascending(Fields.Id), cancellationToken).ConfigureAwait(false))
                {
                    yield return doc.ToChange();
                }

                break;
            case DocumentKind.Room:
                await foreach (var doc in ScanCollectionAsync(_roomsPrimary, Builders<RoomDocument>.Sort.Ascending(Fields.Id), cancellationToken).ConfigureAwait(false))
                {
                    yield return doc.ToChange();
                }

                break;
            case DocumentKind.Membership:
                await foreach (var doc in ScanCollectionAsync(_membershipsPrimary, MongoDefinitions.RoomThenUser, cancellationToken).ConfigureAwait(false))
                {
                    yield return doc.ToChange();
                }

                break;
            case DocumentKind.Message:
                await foreach (var doc in ScanCollectionAsync(_messagesPrimary, MongoDefinitions.RoomThenSeq, cancellationToken).ConfigureAwait(false))
                {
                    yield return doc.ToChange();
                }

                break;
            case DocumentKind.MessageUpdate:
                // Redo logs left by a writer that died become update events first, so that a scan sees every event.
                await RunAsync("settle updates", async ct => { await SettleAllAsync(ct).ConfigureAwait(false); return true; }, cancellationToken).ConfigureAwait(false);
                await foreach (var doc in ScanCollectionAsync(_updatesPrimary, MongoDefinitions.UpdateRoomThenSeq, cancellationToken).ConfigureAwait(false))
                {
                    yield return doc.ToChange();
                }

                break;
            case DocumentKind.ReadMarker:
                await foreach (var doc in ScanCollectionAsync(_markersPrimary, MongoDefinitions.MarkerRoomThenUser, cancellationToken).ConfigureAwait(false))
                {
                    yield return doc.ToChange();
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown document kind.");
        }
    }

    private async IAsyncEnumerable<T> ScanCollectionAsync<T>(IMongoCollection<T> collection, SortDefinition<T> sort, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Binary subtype 4 GUIDs compare byte by byte in MongoDB, which is the order of Guid.CompareTo; room names are
        // compared as UTF-8 bytes, which is ordinal order for the ASCII slugs.
        using var cursor = await RunAsync("scan", ct => collection.Find(FilterDefinition<T>.Empty).Sort(sort).ToCursorAsync(ct), cancellationToken).ConfigureAwait(false);
        while (await RunAsync("scan", ct => cursor.MoveNextAsync(ct), cancellationToken).ConfigureAwait(false))
        {
            foreach (var doc in cursor.Current)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return doc;
            }
        }
    }

    private async Task<long> HeadPositionAsync(CancellationToken cancellationToken)
    {
        var user = await MaxPositionAsync(_usersPrimary, cancellationToken).ConfigureAwait(false);
        var room = await MaxPositionAsync(_roomsPrimary, cancellationToken).ConfigureAwait(false);
        var message = await MaxPositionAsync(_messagesPrimary, cancellationToken).ConfigureAwait(false);
        var membership = await MaxPositionAsync(_membershipsPrimary, cancellationToken).ConfigureAwait(false);
        var update = await MaxPositionAsync(_updatesPrimary, cancellationToken).ConfigureAwait(false);
        var marker = await MaxPositionAsync(_markersPrimary, cancellationToken).ConfigureAwait(false);
        return new[] { user, room, message, membership, update, marker }.Max();
    }

    private static async Task<long> MaxPositionAsync<T>(IMongoCollection<T> collection, CancellationToken cancellationToken)
    {
        var top = await collection.Find(FilterDefinition<T>.Empty)
            .Sort(MongoDefinitions.PositionDescending<T>())
            .Limit(1)
            .Project(Builders<T>.Projection.Include(Fields.Position).Exclude(Fields.Id))
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return top is null ? 0 : top[Fields.Position].ToInt64();
    }

    private async Task<int> ApplyCoreAsync(ReplicationWrite write, CancellationToken cancellationToken)
    {
        // Fencing: refuse a stale writer before touching anything; the conditional checkpoint update at the end re-checks
        // it atomically against a newer writer that got in meanwhile.
        var existing = await _checkpoints.Find(MongoDefinitions.CheckpointById(write.SourceId)).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (existing is not null && existing.FencingToken > write.FencingToken)
        {
            throw new FencingTokenRejectedException(write.SourceId, write.FencingToken, existing.FencingToken);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var applied = 0;
        if (write.Changes.Count > 0)
        {
            // Documents first (each idempotent), checkpoint last: a crash in between re-applies the batch harmlessly.
            var first = await ReservePositionsAsync(write.Changes.Count).ConfigureAwait(false);
            try
            {
                for (var i = 0; i < write.Changes.Count; i++)
                {
                    var change = write.Changes[i];
                    var position = first + i;
                    var now = _time.GetUtcNow();
                    applied += change.Kind switch
                    {
                        DocumentKind.User => await UpsertAsync(
                            _usersPrimary,
                            change.User ?? throw new ArgumentException("A user change has no user.", nameof(write)),
                            u => u.Id,
                            u => u.Version,
                            u => UserDocument.From(u, position, now),
                            u => MongoDefinitions.OtherUsersWithName(u.Id, u.NormalizedUserName),
                            DocumentKind.User).ConfigureAwait(false),
                        DocumentKind.Room => await UpsertAsync(
                            _roomsPrimary,
                            change.Room ?? throw new ArgumentException("A room change has no room.", nameof(write)),
                            r => r.Id,
                            r => r.Version,
                            r => RoomDocument.From(r, position, now),
                            r => MongoDefinitions.OtherRoomsWithName(r.Id, r.Name),
                            DocumentKind.Room).ConfigureAwait(false),
                        DocumentKind.Membership => await UpsertAsync(
                            _membershipsPrimary,
                            change.Membership ?? throw new ArgumentException("A membership change has no membership.", nameof(write)),
                            m => m.Id,
                            m => m.Version,
                            m => MembershipDocument.From(m, position, now),
                            MongoDefinitions.NoOtherMemberships,
                            DocumentKind.Membership).ConfigureAwait(false),
                        DocumentKind.MessageUpdate => await UpsertAsync(
                            _updatesPrimary,
                            change.Update ?? throw new ArgumentException("An update change has no update event.", nameof(write)),
                            u => u.Id,
                            u => u.Version,
                            u => MessageUpdateDocument.From(u, position, now),
                            MongoDefinitions.NoOtherUpdates,
                            DocumentKind.MessageUpdate).ConfigureAwait(false),
                        DocumentKind.ReadMarker => await UpsertAsync(
                            _markersPrimary,
                            change.ReadMarker ?? throw new ArgumentException("A read marker change has no marker.", nameof(write)),
                            m => m.Id,
                            m => m.Version,
                            m => ReadMarkerDocument.From(m, position, now),
                            MongoDefinitions.NoOtherMarkers,
                            DocumentKind.ReadMarker).ConfigureAwait(false),
                        _ => await UpsertAsync(
                            _messagesPrimary,
                            change.Message ?? throw new ArgumentException("A message change has no message.", nameof(write)),
                            m => m.Id,
                            m => m.Version,
                            m => MessageDocument.From(m, position, now),
                            m => MongoDefinitions.OtherMessagesInSlot(m.Id, m.Room, m.Seq, m.ClientMessageId),
                            DocumentKind.Message).ConfigureAwait(false),
                    };
                }
            }
            finally
            {
                await ReleasePositionsAsync(first).ConfigureAwait(false);
            }
        }

        try
        {
            await _checkpoints.UpdateOneAsync(
                MongoDefinitions.CheckpointWritableBy(write.SourceId, write.FencingToken),
                MongoDefinitions.WriteCheckpoint(write.FencingToken, write.Checkpoint, _time.GetUtcNow()),
                new UpdateOptions { IsUpsert = true },
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsDuplicateKey(ex))
        {
            // The filter did not match because a newer token wrote meanwhile, so the upsert collided on _id.
            var current = await _checkpoints.Find(MongoDefinitions.CheckpointById(write.SourceId)).FirstOrDefaultAsync(CancellationToken.None).ConfigureAwait(false);
            throw new FencingTokenRejectedException(write.SourceId, write.FencingToken, current?.FencingToken ?? write.FencingToken);
        }

        return applied;
    }

    /// <summary>
    /// Last writer wins by version: replace <c>{_id, v: {$lt: version}}</c> with upsert. A duplicate key then means either
    /// "this id already has an equal or newer version" (nothing to do) or "another document holds the same unique key"
    /// (drift between stores: the replicated document wins, the local one is removed, and the write is retried).
    /// </summary>
    private async Task<int> UpsertAsync<TModel, TDocument>(
        IMongoCollection<TDocument> collection,
        TModel model,
        Func<TModel, Guid> id,
        Func<TModel, long> version,
        Func<TModel, TDocument> toDocument,
        Func<TModel, FilterDefinition<TDocument>> conflicts,
        DocumentKind kind)
    {
        var document = toDocument(model);
        var filter = MongoDefinitions.OlderVersion<TDocument>(id(model), version(model));
        for (var round = 0; round < MaxConflictRounds; round++)
        {
            try
            {
                var result = await collection.ReplaceOneAsync(filter, document, new ReplaceOptions { IsUpsert = true }, CancellationToken.None).ConfigureAwait(false);
                return result.MatchedCount > 0 || result.UpsertedId is not null ? 1 : 0;
            }
            catch (Exception ex) when (IsDuplicateKey(ex))
            {
                var current = await collection.Find(MongoDefinitions.IdEquals<TDocument>(id(model)))
                    .Project(Builders<TDocument>.Projection.Include(Fields.Version))
                    .FirstOrDefaultAsync(CancellationToken.None).ConfigureAwait(false);
                if (current is not null && current[Fields.Version].ToInt64() >= version(model))
                {
                    return 0;
                }

                var removed = await collection.DeleteManyAsync(conflicts(model), CancellationToken.None).ConfigureAwait(false);
                LogConflictRemoved(removed.DeletedCount, kind, id(model));
            }
        }

        throw new InvalidOperationException($"Replicated {kind} {id(model)} kept colliding with local documents after {MaxConflictRounds} attempts.");
    }
}
