using ChitChat.Storage;
using MongoDB.Bson;
using MongoDB.Driver;

namespace ChitChat.MongoDB;

// The message lifecycle (edits, deletes, reactions as update events of the room's sequence), threads, search and read
// markers. How an update takes its seq without a transaction: see docs/mongodb.md, "Updates in the event sequence".
public sealed partial class MongoChatStore
{
    Task<ChatMessage?> IMessageStore.FindAsync(string room, Guid id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return RunAsync("find message", async ct =>
        {
            var doc = await _messages.Find(MongoDefinitions.MessageInRoom(room, id)).FirstOrDefaultAsync(ct).ConfigureAwait(false);
            return doc is null ? null : await WithReplyCountAsync(doc.ToModel(), ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    Task<MessageUpdateResult> IMessageStore.UpdateAsync(string room, Guid id, MessageMutation mutation, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(mutation);
        return RunAsync("update message", ct => UpdateCoreAsync(room, id, mutation, at, ct), cancellationToken);
    }

    /// <summary>
    /// One update: read the message (primary), apply the mutation to that state, then one compare-and-set on the message
    /// document that stores the new version, claims <c>last + 1</c> in <c>seqs</c> (unique multikey index <c>ux_room_seqs</c>,
    /// shared with appends) and records the update event as a redo log (<c>pu</c>). A concurrent change of the message (the
    /// version moved) or of the room (the number was taken) makes the update read and decide again. Once it is committed,
    /// the update event is written to <c>message_updates</c> and the redo log dropped; a writer that dies in between leaves the
    /// redo log, which the next update of the message, an event read of that range or a scan settles.
    /// </summary>
    private async Task<MessageUpdateResult> UpdateCoreAsync(string room, Guid id, MessageMutation mutation, DateTimeOffset at, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var position = await ReservePositionsAsync(2).ConfigureAwait(false); // the message's new version, then its update event
        try
        {
            for (var attempt = 1; attempt <= _options.MaxAppendAttempts; attempt++)
            {
                var doc = await _messagesPrimary.Find(MongoDefinitions.MessageInRoom(room, id)).FirstOrDefaultAsync(CancellationToken.None).ConfigureAwait(false);
                if (doc is null)
                {
                    return MessageUpdateResult.NotFound;
                }

                if (doc.PendingUpdate is not null)
                {
                    await SettleAsync(doc, CancellationToken.None).ConfigureAwait(false);
                    continue;
                }

                var current = doc.ToModel();
                var outcome = mutation.Apply(current, at);
                if (outcome.Status != MutationStatus.Changed)
                {
                    var unchanged = MessageUpdateResult.From(outcome, null);
                    return unchanged with { Message = await WithReplyCountAsync(outcome.Message, CancellationToken.None).ConfigureAwait(false) };
                }

                var last = await LastSeqAsync(room, CancellationToken.None).ConfigureAwait(false);
                var update = new MessageUpdate(room, last + 1, id, mutation.Change, outcome.Message.Version, at);
                var now = _time.GetUtcNow();
                try
                {
                    var result = await _messagesPrimary.UpdateOneAsync(
                        MongoDefinitions.MessageAtVersion(room, id, current.Version),
                        MongoDefinitions.ApplyMessageChange(outcome.Message, update, position, now),
                        null,
                        CancellationToken.None).ConfigureAwait(false);
                    if (result.MatchedCount == 0)
                    {
                        continue; // the message changed meanwhile: decide again on its new state
                    }
                }
                catch (Exception ex) when (IsDuplicateKey(ex))
                {
                    // The number was taken by a concurrent append or update of the room: read the last seq again.
                    if (attempt % 50 == 0)
                    {
                        LogAppendContention(attempt);
                    }

                    continue;
                }

                await WriteUpdateEventAsync(update, position + 1, CancellationToken.None).ConfigureAwait(false);
                await _messagesPrimary.UpdateOneAsync(MongoDefinitions.MessageSettling(id, update.Seq), MongoDefinitions.EndMessageChange, null, CancellationToken.None).ConfigureAwait(false);
                var changed = await WithReplyCountAsync(outcome.Message, CancellationToken.None).ConfigureAwait(false);
                return MessageUpdateResult.From(outcome with { Message = changed }, update);
            }

            throw new ChatStoreUnavailableException($"Could not update the message after {_options.MaxAppendAttempts} attempts (too many concurrent writers in one room).", TimeSpan.FromSeconds(1));
        }
        finally
        {
            await ReleasePositionsAsync(position).ConfigureAwait(false);
        }
    }

    /// <summary>Stores an update event (idempotent: the <c>_id</c> is derived from room and seq, so a second writer's insert is a no-op).</summary>
    private async Task WriteUpdateEventAsync(MessageUpdate update, long position, CancellationToken cancellationToken)
    {
        try
        {
            await _updatesPrimary.InsertOneAsync(MessageUpdateDocument.From(update, position, _time.GetUtcNow()), null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsDuplicateKey(ex))
        {
            // Already settled by another reader or writer.
        }
    }

    /// <summary>Settles a message's redo log: writes its update event (at a new position) and drops the log.</summary>
    private async Task SettleAsync(MessageDocument doc, CancellationToken cancellationToken)
    {
        if (doc.PendingUpdate is not { } pending)
        {
            return;
        }

        var update = pending.ToModel(doc.Room, doc.Id);
        var position = await ReservePositionsAsync(1).ConfigureAwait(false);
        try
        {
            await WriteUpdateEventAsync(update, position, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await ReleasePositionsAsync(position).ConfigureAwait(false);
        }

        await _messagesPrimary.UpdateOneAsync(MongoDefinitions.MessageSettling(doc.Id, update.Seq), MongoDefinitions.EndMessageChange, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Settles every redo log left by a writer that died (used before scans, so that anti-entropy sees every update event).</summary>
    private async Task SettleAllAsync(CancellationToken cancellationToken)
    {
        var pending = await _messagesPrimary.Find(MongoDefinitions.AnyPendingUpdate).ToListAsync(cancellationToken).ConfigureAwait(false);
        foreach (var doc in pending)
        {
            await SettleAsync(doc, CancellationToken.None).ConfigureAwait(false);
        }
    }

    Task<IReadOnlyList<MessageEvent>> IMessageStore.ReadEventsAsync(string room, long afterSeq, long upToSeq, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return RunAsync<IReadOnlyList<MessageEvent>>("read events", async ct =>
        {
            if (upToSeq <= afterSeq)
            {
                return [];
            }

            // The earliest `limit` of each source: new messages, stored update events, and updates whose event is still
            // settling (their redo log, on the primary). The earliest `limit` of the union are among them.
            var posted = await _messages.Find(MongoDefinitions.MessageSeqRange(room, afterSeq, upToSeq)).Sort(MongoDefinitions.SeqAscending).Limit(limit).ToListAsync(ct).ConfigureAwait(false);
            var stored = await _updates.Find(MongoDefinitions.UpdateSeqRange(room, afterSeq, upToSeq)).Sort(MongoDefinitions.UpdateSeqAscending).Limit(limit).ToListAsync(ct).ConfigureAwait(false);
            var settling = await _messagesPrimary.Find(MongoDefinitions.PendingUpdates(room, afterSeq, upToSeq)).ToListAsync(ct).ConfigureAwait(false);
            foreach (var doc in settling)
            {
                await SettleAsync(doc, CancellationToken.None).ConfigureAwait(false);
            }

            var updates = new SortedDictionary<long, MessageUpdate>();
            foreach (var u in stored)
            {
                updates[u.Seq] = u.ToModel();
            }

            foreach (var doc in settling)
            {
                var u = doc.PendingUpdate!.ToModel(doc.Room, doc.Id);
                updates.TryAdd(u.Seq, u);
            }

            var messages = posted.ConvertAll(d => d.ToModel()).ToDictionary(m => m.Id);
            var missing = updates.Values.Select(u => u.MessageId).Where(mid => !messages.ContainsKey(mid)).Distinct().ToArray();
            if (missing.Length > 0)
            {
                foreach (var d in await _messages.Find(MongoDefinitions.MessagesByIds(room, missing)).ToListAsync(ct).ConfigureAwait(false))
                {
                    messages[d.Id] = d.ToModel();
                }
            }

            var withCounts = (await WithReplyCountsAsync(room, [.. messages.Values], ct).ConfigureAwait(false)).ToDictionary(m => m.Id);
            var events = posted.Select(p => MessageEvent.Posted(withCounts[p.Id]))
                .Concat(updates.Values.Where(u => withCounts.ContainsKey(u.MessageId)).Select(u => MessageEvent.Updated(u.Seq, u.Change, withCounts[u.MessageId])))
                .OrderBy(e => e.Seq)
                .Take(limit)
                .ToList();

            // An update whose message this store does not hold (yet) would leave a hole: end the page before it.
            var firstOrphan = updates.Values.Where(u => !withCounts.ContainsKey(u.MessageId)).Select(u => (long?)u.Seq).FirstOrDefault();
            return firstOrphan is { } hole ? events.TakeWhile(e => e.Seq < hole).ToList() : events;
        }, cancellationToken);
    }

    Task<IReadOnlyList<ChatMessage>> IMessageStore.QueryThreadAsync(string room, Guid rootId, long? afterSeq, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return RunAsync<IReadOnlyList<ChatMessage>>("query thread", async ct =>
        {
            var docs = await _messages.Find(MongoDefinitions.ThreadPage(room, rootId, afterSeq)).Sort(MongoDefinitions.SeqAscending).Limit(limit).ToListAsync(ct).ConfigureAwait(false);
            return docs.ConvertAll(d => d.ToModel()); // replies are never roots: their reply count is 0
        }, cancellationToken);
    }

    Task<IReadOnlyList<ChatMessage>> IMessageStore.SearchAsync(MessageSearch search, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(search);
        ArgumentNullException.ThrowIfNull(search.Terms);
        ArgumentNullException.ThrowIfNull(search.Rooms);
        ArgumentOutOfRangeException.ThrowIfLessThan(search.Limit, 1);
        return RunAsync<IReadOnlyList<ChatMessage>>("search messages", async ct =>
        {
            if (search.Terms.Count == 0 || search.Rooms.Count == 0)
            {
                return [];
            }

            // The text index may match more than whole words and prefixes (MongoDB checks a phrase as a substring of the
            // text): keep the contract's matches only, and read on from the last document read until the page is full.
            var results = new List<ChatMessage>(search.Limit);
            var page = search;
            for (var round = 0; round < 8 && results.Count < search.Limit; round++)
            {
                var docs = await _messages.Find(MongoDefinitions.Search(page)).Sort(MongoDefinitions.SearchOrder).Limit(search.Limit).ToListAsync(ct).ConfigureAwait(false);
                var models = docs.ConvertAll(d => d.ToModel());
                results.AddRange(models.Where(m => Matches(m.Text, search.Terms)).Take(search.Limit - results.Count));
                if (docs.Count < search.Limit)
                {
                    break;
                }

                page = search with { Before = MessageSearchCursor.Of(models[^1]) };
            }

            var counted = new Dictionary<Guid, ChatMessage>();
            foreach (var group in results.GroupBy(m => m.Room, StringComparer.Ordinal))
            {
                foreach (var m in await WithReplyCountsAsync(group.Key, [.. group], ct).ConfigureAwait(false))
                {
                    counted[m.Id] = m;
                }
            }

            return results.ConvertAll(m => counted[m.Id]);
        }, cancellationToken);
    }

    /// <summary>Whether every term is a word, or the prefix of a word, of <paramref name="text"/> as <see cref="SearchText.Words"/> cuts it.</summary>
    internal static bool Matches(string text, IReadOnlyList<string> terms)
    {
        var words = SearchText.Words(text);
        return terms.All(t => words.Any(w => w.StartsWith(t, StringComparison.Ordinal)));
    }

    /// <summary>Fills <see cref="ChatMessage.ReplyCount"/> of the thread roots among <paramref name="messages"/> (one aggregation on ix_room_thread_seq).</summary>
    private async Task<IReadOnlyList<ChatMessage>> WithReplyCountsAsync(string room, IReadOnlyList<ChatMessage> messages, CancellationToken cancellationToken)
    {
        var roots = messages.Where(m => m.ThreadRoot is null).Select(m => m.Id).ToArray();
        if (roots.Length == 0)
        {
            return messages;
        }

        var pipeline = PipelineDefinition<MessageDocument, BsonDocument>.Create(MongoDefinitions.ReplyCountsPipeline(room, roots));
        using var cursor = await _messages.AggregateAsync(pipeline, null, cancellationToken).ConfigureAwait(false);
        var counts = new Dictionary<Guid, int>();
        foreach (var group in await cursor.ToListAsync(cancellationToken).ConfigureAwait(false))
        {
            counts[group["_id"].AsBsonBinaryData.ToGuid(GuidRepresentation.Standard)] = group["n"].ToInt32();
        }

        return counts.Count == 0 ? messages : messages.Select(m => counts.TryGetValue(m.Id, out var n) ? m with { ReplyCount = n } : m).ToArray();
    }

    private async Task<ChatMessage> WithReplyCountAsync(ChatMessage message, CancellationToken cancellationToken) =>
        (await WithReplyCountsAsync(message.Room, [message], cancellationToken).ConfigureAwait(false))[0];

    // ---- read markers ----------------------------------------------------------------------------------------------

    Task<(ReadMarker Marker, bool Moved)> IReadStateStore.MarkReadAsync(string room, Guid userId, long seq, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfNegative(seq);
        return RunAsync("mark read", async ct =>
        {
            if (seq == 0)
            {
                // Nothing read yet moves no marker: none is created (as in every store), an existing one stays.
                var existing = await _markersPrimary.Find(MongoDefinitions.IdEquals<ReadMarkerDocument>(ReadMarker.IdFor(room, userId))).FirstOrDefaultAsync(ct).ConfigureAwait(false);
                return (existing?.ToModel() ?? new ReadMarker(room, userId, 0, at), false);
            }

            ct.ThrowIfCancellationRequested();
            var position = await ReservePositionsAsync(1).ConfigureAwait(false);
            try
            {
                var options = new FindOneAndUpdateOptions<ReadMarkerDocument, ReadMarkerDocument> { IsUpsert = true, ReturnDocument = ReturnDocument.Before };
                var filter = MongoDefinitions.IdEquals<ReadMarkerDocument>(ReadMarker.IdFor(room, userId));
                for (var attempt = 0; ; attempt++)
                {
                    try
                    {
                        var update = MongoDefinitions.MarkRead(room, userId, seq, at, position, _time.GetUtcNow());
                        var before = await _markersPrimary.FindOneAndUpdateAsync(filter, update, options, CancellationToken.None).ConfigureAwait(false);
                        return before is null || before.Seq < seq
                            ? (new ReadMarker(room, userId, seq, at), true)
                            : (before.ToModel(), false);
                    }
                    catch (Exception ex) when (IsDuplicateKey(ex) && attempt == 0)
                    {
                        // Two first marks raced to insert; the document exists now, so the retry updates it.
                    }
                }
            }
            finally
            {
                await ReleasePositionsAsync(position).ConfigureAwait(false);
            }
        }, cancellationToken);
    }

    Task<ReadMarker?> IReadStateStore.FindAsync(string room, Guid userId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return RunAsync("find read marker", async ct =>
        {
            var doc = await _markers.Find(MongoDefinitions.IdEquals<ReadMarkerDocument>(ReadMarker.IdFor(room, userId))).FirstOrDefaultAsync(ct).ConfigureAwait(false);
            return doc?.ToModel();
        }, cancellationToken);
    }

    /// <summary>The read seq, unread and mention counts of a user's member rooms: one read of the markers by id and two aggregations.</summary>
    private async Task<Dictionary<string, (long Read, long Unread, long Mentions)>> ReadStatesAsync(Guid userId, IReadOnlyCollection<string> memberRooms, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, (long Read, long Unread, long Mentions)>(StringComparer.Ordinal);
        if (memberRooms.Count == 0)
        {
            return result;
        }

        var markers = await _markersPrimary.Find(MongoDefinitions.ReadMarkersOf(userId, memberRooms)).ToListAsync(cancellationToken).ConfigureAwait(false);
        var read = memberRooms.ToDictionary(r => r, _ => 0L, StringComparer.Ordinal);
        foreach (var m in markers)
        {
            read[m.Room] = m.Seq;
        }

        var unread = await CountByRoomAsync(MongoDefinitions.UnreadCountsPipeline(userId, read), cancellationToken).ConfigureAwait(false);
        var mentions = await CountByRoomAsync(MongoDefinitions.MentionCountsPipeline(userId, read), cancellationToken).ConfigureAwait(false);
        foreach (var (room, seq) in read)
        {
            result[room] = (seq, unread.GetValueOrDefault(room), mentions.GetValueOrDefault(room));
        }

        return result;
    }

    private async Task<Dictionary<string, long>> CountByRoomAsync(BsonDocument[] stages, CancellationToken cancellationToken)
    {
        using var cursor = await _messagesPrimary.AggregateAsync(PipelineDefinition<MessageDocument, BsonDocument>.Create(stages), null, cancellationToken).ConfigureAwait(false);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var group in await cursor.ToListAsync(cancellationToken).ConfigureAwait(false))
        {
            counts[group["_id"].AsString] = group["n"].ToInt64();
        }

        return counts;
    }
}
