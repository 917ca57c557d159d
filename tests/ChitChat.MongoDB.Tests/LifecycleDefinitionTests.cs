using ChitChat.MongoDB;
using ChitChat.Storage;
using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using MongoDB.Driver;

namespace ChitChat.MongoDB.Tests;

/// <summary>
/// Offline checks of the message lifecycle (issue 13): the BSON of the new fields and documents, and the filters, updates,
/// pipelines and indexes that updates, event reads, threads, search and read markers send, rendered by the driver's
/// serializer registry and compared with the intended shell syntax.
/// </summary>
public sealed class LifecycleDefinitionTests
{
    private static readonly Guid Id = Guid.Parse("0192f0c4-9a1b-7c3d-8e4f-a1b2c3d4e5f6");
    private const string IdJson = "UUID('0192f0c4-9a1b-7c3d-8e4f-a1b2c3d4e5f6')";
    private static readonly Guid UserA = Guid.Parse("0192f0c4-0000-7000-8000-00000000000a");
    private const string UserAJson = "UUID('0192f0c4-0000-7000-8000-00000000000a')";
    private static readonly Guid UserB = Guid.Parse("0192f0c4-0000-7000-8000-00000000000b");
    private const string UserBJson = "UUID('0192f0c4-0000-7000-8000-00000000000b')";
    private static readonly DateTimeOffset At = new DateTimeOffset(2026, 11, 25, 3, 4, 5, TimeSpan.Zero).AddTicks(1_234_567); // .1234567 s

    private static RenderArgs<T> Args<T>() => new(BsonSerializer.LookupSerializer<T>(), BsonSerializer.SerializerRegistry);

    private static BsonDocument Render<T>(FilterDefinition<T> filter) => filter.Render(Args<T>());

    private static BsonValue Render<T>(UpdateDefinition<T> update) => update.Render(Args<T>());

    private static BsonDocument Render<T>(SortDefinition<T> sort) => sort.Render(Args<T>());

    private static BsonDocument Render<T>(IndexKeysDefinition<T> keys) => keys.Render(Args<T>());

    private static ChatMessage Message(long seq = 7) => new(Id, "dev", seq, UserA, "zoë", "héllo @bob", At, "k1", 1);

    private static T RoundTrip<T>(T document, out BsonDocument bson)
    {
        bson = document.ToBsonDocument();
        return BsonSerializer.Deserialize<T>(document.ToBson());
    }

    // ---- BSON -----------------------------------------------------------------------------------------------------

    [Fact]
    public void A_changed_message_round_trips_every_new_field_exactly()
    {
        var message = Message() with
        {
            Version = 5,
            EditedAt = At.AddTicks(3),
            ReplyTo = UserB,
            ThreadRoot = UserA,
            Reactions = [new MessageReaction("👍", [UserB, UserA]), new MessageReaction("é", [UserA])],
            Mentions = [UserB, UserA],
        };

        var back = RoundTrip(MessageDocument.From(message, 40, At), out var bson).ToModel();

        Assert.Equal(message, back);
        Assert.Equal(At.AddTicks(3), back.EditedAt);
        Assert.Equal(
            ["_id", "room", "seq", "author_id", "author", "text", "sent", "sent_x", "cmid", "v", "edited_at", "edited_at_x", "reply_to", "thread_root", "reactions", "mentions", "seqs", "pos", "changed", "changed_x"],
            bson.Names.ToArray());
        Assert.Equal(BsonDocument.Parse($"{{ e: '👍', u: [ {UserBJson}, {UserAJson} ] }}"), bson["reactions"][0]);
        Assert.Equal(BsonArray.Create(new[] { new BsonBinaryData(UserB, GuidRepresentation.Standard), new BsonBinaryData(UserA, GuidRepresentation.Standard) }), bson["mentions"]);
        Assert.Equal(new BsonBinaryData(UserB, GuidRepresentation.Standard), bson["reply_to"]);
        Assert.Equal(new BsonArray { 7L }, bson["seqs"]); // a message holds its own seq as its first claim
        Assert.Equal(5L, bson["v"].AsInt64);
    }

    [Fact]
    public void A_tombstone_stores_deleted_true_with_empty_text_and_no_reactions_or_mentions()
    {
        var tombstone = Message() with { Text = "", Deleted = true, Version = 3 };

        var back = RoundTrip(MessageDocument.From(tombstone, 41, At), out var bson).ToModel();

        Assert.True(back.Deleted);
        Assert.Equal("", back.Text);
        Assert.True(bson["deleted"].AsBoolean);
        Assert.False(bson.Contains("reactions"));
        Assert.False(bson.Contains("mentions"));
        Assert.False(bson.Contains("edited_at"));
        Assert.False(bson.Contains("pu"));
        Assert.False(bson.Contains("useq"));
    }

    [Fact]
    public void A_message_written_before_the_lifecycle_reads_as_live_unedited_and_without_reactions()
    {
        var old = BsonDocument.Parse($"{{ _id: {IdJson}, room: 'dev', seq: NumberLong(2), author_id: {UserAJson}, author: 'a', text: 't', sent: ISODate('2026-11-25T03:04:05Z'), sent_x: NumberLong(0), v: NumberLong(1), pos: NumberLong(3), changed: ISODate('2026-11-25T03:04:05Z'), changed_x: NumberLong(0) }}");

        var model = BsonSerializer.Deserialize<MessageDocument>(old).ToModel();

        Assert.False(model.Deleted);
        Assert.Null(model.EditedAt);
        Assert.Null(model.ReplyTo);
        Assert.Null(model.ThreadRoot);
        Assert.Empty(model.Reactions);
        Assert.Empty(model.Mentions);
    }

    [Fact]
    public void Update_events_and_read_markers_round_trip_as_their_change_kinds()
    {
        var update = new MessageUpdate("dev", 12, Id, MessageChange.Reactions, 4, At);
        var updateDoc = RoundTrip(MessageUpdateDocument.From(update, 50, At), out var updateBson);
        Assert.Equal(update, updateDoc.ToModel());
        Assert.Equal(new BsonBinaryData(update.Id, GuidRepresentation.Standard), updateBson["_id"]);
        Assert.Equal(["_id", "room", "seq", "mid", "change", "mv", "at", "at_x", "v", "pos", "changed", "changed_x"], updateBson.Names.ToArray());
        Assert.Equal(2, updateBson["change"].AsInt32);
        var updateChange = updateDoc.ToChange();
        Assert.Equal(DocumentKind.MessageUpdate, updateChange.Kind);
        Assert.Equal(50, updateChange.Position);
        Assert.Equal(1, updateChange.DocumentVersion);

        var marker = new ReadMarker("dev", UserA, 9, At);
        var markerDoc = RoundTrip(ReadMarkerDocument.From(marker, 51, At), out var markerBson);
        Assert.Equal(marker, markerDoc.ToModel());
        Assert.Equal(new BsonBinaryData(marker.Id, GuidRepresentation.Standard), markerBson["_id"]);
        Assert.Equal(9L, markerBson["v"].AsInt64); // the version is the seq: "higher version wins" keeps the furthest marker
        var markerChange = markerDoc.ToChange();
        Assert.Equal(DocumentKind.ReadMarker, markerChange.Kind);
        Assert.Equal(9, markerChange.DocumentVersion);
    }

    [Fact]
    public void The_redo_log_holds_everything_the_update_event_needs()
    {
        var update = new MessageUpdate("dev", 12, Id, MessageChange.Deleted, 4, At);
        var pending = RoundTrip(PendingUpdateDocument.From(update), out var bson);
        Assert.Equal(update, pending.ToModel("dev", Id));
        Assert.Equal(["s", "c", "mv", "at", "at_x"], bson.Names.ToArray());
    }

    // ---- updates ---------------------------------------------------------------------------------------------------

    [Fact]
    public void An_update_is_a_compare_and_set_on_the_version_with_no_update_still_settling()
    {
        Assert.Equal(
            BsonDocument.Parse($"{{ _id: {IdJson}, room: 'dev', v: NumberLong(3), pu: {{ $exists: false }} }}"),
            Render(MongoDefinitions.MessageAtVersion("dev", Id, 3)));
        Assert.Equal(BsonDocument.Parse($"{{ _id: {IdJson}, 'pu.s': NumberLong(12) }}"), Render(MongoDefinitions.MessageSettling(Id, 12)));
        Assert.Equal(BsonDocument.Parse("{ $unset: { pu: 1 } }"), Render(MongoDefinitions.EndMessageChange));
        Assert.Equal(BsonDocument.Parse($"{{ _id: {IdJson}, room: 'dev' }}"), Render(MongoDefinitions.MessageInRoom("dev", Id)));
    }

    [Fact]
    public void An_edit_stores_the_new_state_and_claims_the_seq_in_one_update()
    {
        var next = Message() with { Text = "edited", EditedAt = At, Version = 2, Mentions = [UserB] };
        var update = new MessageUpdate("dev", 12, Id, MessageChange.Edited, 2, At);

        var rendered = Render(MongoDefinitions.ApplyMessageChange(next, update, 60, At));

        var expected = BsonDocument.Parse($$"""
            {
              $set: {
                text: 'edited', v: NumberLong(2), useq: NumberLong(12),
                pu: { s: NumberLong(12), c: 0, mv: NumberLong(2), at: ISODate('2026-11-25T03:04:05.123Z'), at_x: NumberLong(4567) },
                pos: NumberLong(60), changed: ISODate('2026-11-25T03:04:05.123Z'), changed_x: NumberLong(4567),
                edited_at: ISODate('2026-11-25T03:04:05.123Z'), edited_at_x: NumberLong(4567),
                mentions: [ {{UserBJson}} ]
              },
              $push: { seqs: NumberLong(12) },
              $unset: { deleted: 1, reactions: 1 }
            }
            """);
        Assert.Equal(expected, rendered);
    }

    [Fact]
    public void A_delete_sets_the_tombstone_and_unsets_reactions_and_mentions()
    {
        var live = Message() with { Reactions = [new MessageReaction("👍", [UserB])], Mentions = [UserB] };
        var tombstone = live with { Text = "", Deleted = true, Reactions = [], Mentions = [], Version = 2 };
        var update = new MessageUpdate("dev", 13, Id, MessageChange.Deleted, 2, At);

        var rendered = Render(MongoDefinitions.ApplyMessageChange(tombstone, update, 61, At)).AsBsonDocument;

        Assert.Equal("", rendered["$set"]["text"].AsString);
        Assert.True(rendered["$set"]["deleted"].AsBoolean);
        Assert.Equal(1, rendered["$set"]["pu"]["c"].AsInt32);
        Assert.Equal(BsonDocument.Parse("{ edited_at: 1, edited_at_x: 1, reactions: 1, mentions: 1 }"), rendered["$unset"]);
        Assert.Equal(BsonDocument.Parse("{ seqs: NumberLong(13) }"), rendered["$push"]);
    }

    [Fact]
    public void Reactions_are_stored_in_their_order_as_emoji_and_users()
    {
        var next = Message() with { Reactions = [new MessageReaction("🎉", [UserA]), new MessageReaction("👍", [UserB, UserA])], Version = 3 };
        var update = new MessageUpdate("dev", 14, Id, MessageChange.Reactions, 3, At);

        var rendered = Render(MongoDefinitions.ApplyMessageChange(next, update, 62, At)).AsBsonDocument;

        Assert.Equal(
            BsonArray.Create(new[]
            {
                BsonDocument.Parse($"{{ e: '🎉', u: [ {UserAJson} ] }}"),
                BsonDocument.Parse($"{{ e: '👍', u: [ {UserBJson}, {UserAJson} ] }}"),
            }),
            rendered["$set"]["reactions"]);
    }

    [Fact]
    public void The_last_seq_covers_messages_updates_held_by_messages_and_update_events()
    {
        Assert.Equal(BsonDocument.Parse("{ room: 'dev', useq: { $exists: true } }"), Render(MongoDefinitions.MessagesWithUpdates("dev")));
        Assert.Equal(BsonDocument.Parse("{ useq: -1 }"), Render(MongoDefinitions.LastUpdateSeqDescending));
        Assert.Equal(BsonDocument.Parse("{ room: 'dev' }"), Render(MongoDefinitions.UpdatesInRoom("dev")));
        Assert.Equal(BsonDocument.Parse("{ seq: -1 }"), Render(MongoDefinitions.UpdateSeqDescending));
        Assert.Equal(BsonDocument.Parse("{ seqs: { $exists: false } }"), Render(MongoDefinitions.MessagesWithoutSeqClaims));
        Assert.Equal(BsonArray.Create(new[] { BsonDocument.Parse("{ $set: { seqs: ['$seq'] } }") }), Render(MongoDefinitions.ClaimOwnSeq));
    }

    // ---- event reads, threads ----------------------------------------------------------------------------------------

    [Fact]
    public void Event_reads_take_seq_ranges_of_messages_update_events_and_redo_logs()
    {
        Assert.Equal(
            BsonDocument.Parse("{ room: 'dev', seq: { $gt: NumberLong(5), $lte: NumberLong(40) } }"),
            Render(MongoDefinitions.MessageSeqRange("dev", 5, 40)));
        Assert.Equal(
            BsonDocument.Parse("{ room: 'dev', seq: { $gt: NumberLong(5), $lte: NumberLong(40) } }"),
            Render(MongoDefinitions.UpdateSeqRange("dev", 5, 40)));
        Assert.Equal(
            BsonDocument.Parse("{ room: 'dev', 'pu.s': { $gt: NumberLong(5), $lte: NumberLong(40) } }"),
            Render(MongoDefinitions.PendingUpdates("dev", 5, 40)));
        Assert.Equal(BsonDocument.Parse("{ seq: 1 }"), Render(MongoDefinitions.UpdateSeqAscending));
        Assert.Equal(BsonDocument.Parse("{ room: 1, seq: 1 }"), Render(MongoDefinitions.UpdateRoomThenSeq));
        Assert.Equal(BsonDocument.Parse($"{{ room: 'dev', _id: {{ $in: [ {IdJson} ] }} }}"), Render(MongoDefinitions.MessagesByIds("dev", [Id])));
        Assert.Equal(BsonDocument.Parse("{ pu: { $exists: true } }"), Render(MongoDefinitions.AnyPendingUpdate));
    }

    [Fact]
    public void Threads_read_the_thread_index_and_reply_counts_skip_tombstones()
    {
        Assert.Equal(BsonDocument.Parse($"{{ room: 'dev', thread_root: {IdJson} }}"), Render(MongoDefinitions.ThreadPage("dev", Id, null)));
        Assert.Equal(
            BsonDocument.Parse($"{{ room: 'dev', thread_root: {IdJson}, seq: {{ $gt: NumberLong(9) }} }}"),
            Render(MongoDefinitions.ThreadPage("dev", Id, 9)));

        var pipeline = new BsonArray(MongoDefinitions.ReplyCountsPipeline("dev", [Id]));
        Assert.Equal(
            BsonArray.Create(new[]
            {
                BsonDocument.Parse($"{{ $match: {{ room: 'dev', thread_root: {{ $in: [ {IdJson} ] }}, deleted: {{ $ne: true }} }} }}"),
                BsonDocument.Parse("{ $group: { _id: '$thread_root', n: { $sum: 1 } } }"),
            }),
            pipeline);
    }

    // ---- search ----------------------------------------------------------------------------------------------------

    [Fact]
    public void Search_quotes_every_term_so_all_must_match_and_operators_are_text()
    {
        var terms = SearchText.Terms("Café -secret \"or\" OR (x)");
        Assert.Equal(["cafe", "secret", "or", "x"], terms);
        Assert.Equal("\"cafe\" \"secret\" \"or\" \"x\"", MongoDefinitions.SearchExpression(terms));
        Assert.Equal("\"ab\"", MongoDefinitions.SearchExpression(["a\"b\\"]));
    }

    [Fact]
    public void Search_filters_by_text_rooms_and_tombstones_and_sorts_newest_first()
    {
        var search = new MessageSearch(["cafe", "bar"], ["dev", "global"], null, 20);

        Assert.Equal(
            BsonDocument.Parse("{ $text: { $search: '\"cafe\" \"bar\"' }, room: { $in: ['dev', 'global'] }, deleted: { $ne: true } }"),
            Render(MongoDefinitions.Search(search)));
        Assert.Equal(BsonDocument.Parse("{ sent: -1, sent_x: -1, seq: -1, room: -1 }"), Render(MongoDefinitions.SearchOrder));
    }

    [Fact]
    public void A_search_page_after_a_cursor_keeps_only_older_results_in_the_cursor_order()
    {
        var search = new MessageSearch(["cafe"], ["dev"], new MessageSearchCursor(At, 30, "dev"), 20);

        var expected = BsonDocument.Parse("""
            {
              $text: { $search: '"cafe"' }, room: { $in: ['dev'] }, deleted: { $ne: true },
              $or: [
                { sent: { $lt: ISODate('2026-11-25T03:04:05.123Z') } },
                { sent: ISODate('2026-11-25T03:04:05.123Z'), sent_x: { $lt: NumberLong(4567) } },
                { sent: ISODate('2026-11-25T03:04:05.123Z'), sent_x: NumberLong(4567), seq: { $lt: NumberLong(30) } },
                { sent: ISODate('2026-11-25T03:04:05.123Z'), sent_x: NumberLong(4567), seq: NumberLong(30), room: { $lt: 'dev' } }
              ]
            }
            """);
        Assert.Equal(expected, Render(MongoDefinitions.Search(search)));
    }

    [Fact]
    public void Text_index_matches_beyond_words_are_dropped_by_the_contract_check()
    {
        Assert.True(MongoChatStore.Matches("Un café, s'il vous plaît", ["cafe", "plait"]));
        Assert.True(MongoChatStore.Matches("categories", ["cat"])); // a prefix: allowed
        Assert.False(MongoChatStore.Matches("a hotdog stand", ["dog"])); // a substring MongoDB's phrase check accepts
        Assert.False(MongoChatStore.Matches("cat", ["cat", "dog"]));
    }

    // ---- read markers, counts ----------------------------------------------------------------------------------------

    [Fact]
    public void Marking_read_is_one_upsert_pipeline_that_only_moves_forward_with_max()
    {
        var rendered = Render(MongoDefinitions.MarkRead("dev", UserA, 9, At, 70, At.AddTicks(10)));

        const string moved = "{ $lt: [ { $ifNull: ['$seq', NumberLong(-1)] }, NumberLong(9) ] }";
        var expected = BsonArray.Create(new[]
        {
            BsonDocument.Parse($$"""
                { $set: {
                    room: 'dev', uid: {{UserAJson}},
                    at: { $cond: [ {{moved}}, ISODate('2026-11-25T03:04:05.123Z'), '$at' ] },
                    at_x: { $cond: [ {{moved}}, NumberLong(4567), '$at_x' ] },
                    pos: { $cond: [ {{moved}}, NumberLong(70), '$pos' ] },
                    changed: { $cond: [ {{moved}}, ISODate('2026-11-25T03:04:05.123Z'), '$changed' ] },
                    changed_x: { $cond: [ {{moved}}, NumberLong(4577), '$changed_x' ] },
                    seq: { $max: [ '$seq', NumberLong(9) ] },
                    v: { $max: [ '$v', NumberLong(9) ] }
                } }
                """),
        });
        Assert.Equal(expected, rendered);
        Assert.Equal(
            BsonDocument.Parse($"{{ _id: {{ $in: [ UUID('{ReadMarker.IdFor("dev", UserA)}'), UUID('{ReadMarker.IdFor("ops", UserA)}') ] }} }}"),
            Render(MongoDefinitions.ReadMarkersOf(UserA, ["dev", "ops"])));
        Assert.Equal(BsonDocument.Parse("{ room: 1, uid: 1 }"), Render(MongoDefinitions.MarkerRoomThenUser));
    }

    [Fact]
    public void Unread_and_mention_counts_are_one_aggregation_each_with_a_range_per_room()
    {
        var read = new Dictionary<string, long> { ["ops"] = 0, ["dev"] = 4 };

        Assert.Equal(
            BsonArray.Create(new[]
            {
                BsonDocument.Parse($"{{ $match: {{ $or: [ {{ room: 'dev', seq: {{ $gt: NumberLong(4) }} }}, {{ room: 'ops', seq: {{ $gt: NumberLong(0) }} }} ], author_id: {{ $ne: {UserAJson} }}, deleted: {{ $ne: true }} }} }}"),
                BsonDocument.Parse("{ $group: { _id: '$room', n: { $sum: 1 } } }"),
            }),
            new BsonArray(MongoDefinitions.UnreadCountsPipeline(UserA, read)));
        Assert.Equal(
            BsonDocument.Parse($"{{ $match: {{ $or: [ {{ room: 'dev', mentions: {UserAJson}, seq: {{ $gt: NumberLong(4) }} }}, {{ room: 'ops', mentions: {UserAJson}, seq: {{ $gt: NumberLong(0) }} }} ], author_id: {{ $ne: {UserAJson} }}, deleted: {{ $ne: true }} }} }}"),
            MongoDefinitions.MentionCountsPipeline(UserA, read)[0]);
    }

    [Fact]
    public void Replicated_update_events_and_markers_have_no_other_slot_than_their_id()
    {
        var update = new MessageUpdate("dev", 12, Id, MessageChange.Edited, 2, At);
        Assert.Equal(
            BsonDocument.Parse($"{{ _id: UUID('{update.Id}'), v: {{ $lt: NumberLong(0) }} }}"),
            Render(MongoDefinitions.NoOtherUpdates(update)));
        var marker = new ReadMarker("dev", UserA, 0, At);
        Assert.Equal(
            BsonDocument.Parse($"{{ _id: UUID('{marker.Id}'), v: {{ $lt: NumberLong(-1) }} }}"),
            Render(MongoDefinitions.NoOtherMarkers(marker)));
    }

    // ---- indexes ---------------------------------------------------------------------------------------------------

    [Fact]
    public void Message_indexes_serve_claims_threads_counts_and_a_diacritic_insensitive_text_search()
    {
        var indexes = MongoDefinitions.MessageIndexes().ToDictionary(i => i.Options.Name);

        var claims = Assert.IsType<CreateIndexOptions<MessageDocument>>(indexes["ux_room_seqs"].Options);
        Assert.Equal(BsonDocument.Parse("{ room: 1, seqs: 1 }"), Render(indexes["ux_room_seqs"].Keys));
        Assert.True(claims.Unique);
        Assert.Equal(BsonDocument.Parse("{ seqs: { $exists: true } }"), Render(claims.PartialFilterExpression));

        Assert.Equal(BsonDocument.Parse("{ room: 1, useq: 1 }"), Render(indexes["ix_room_useq"].Keys));
        Assert.Equal(BsonDocument.Parse("{ room: 1, 'pu.s': 1 }"), Render(indexes["ix_room_pending"].Keys));

        var thread = Assert.IsType<CreateIndexOptions<MessageDocument>>(indexes["ix_room_thread_seq"].Options);
        Assert.Equal(BsonDocument.Parse("{ room: 1, thread_root: 1, seq: 1 }"), Render(indexes["ix_room_thread_seq"].Keys));
        Assert.Equal(BsonDocument.Parse("{ thread_root: { $exists: true } }"), Render(thread.PartialFilterExpression));

        Assert.Equal(BsonDocument.Parse("{ room: 1, seq: 1, author_id: 1, deleted: 1 }"), Render(indexes["ix_room_seq_author_deleted"].Keys));
        Assert.Equal(BsonDocument.Parse("{ room: 1, mentions: 1, seq: 1 }"), Render(indexes["ix_room_mentions_seq"].Keys));

        var text = indexes["tx_text"];
        Assert.Equal(BsonDocument.Parse("{ text: 'text' }"), Render(text.Keys));
        Assert.Equal("none", text.Options.DefaultLanguage); // no stemming, no stop words: whole words as SearchText cuts them
        Assert.Equal(3, text.Options.TextIndexVersion); // version 3: case and diacritic insensitive
        Assert.NotEqual(true, text.Options.Unique);
    }

    [Fact]
    public void Update_events_are_unique_per_room_and_seq_and_markers_are_scanned_by_room_and_user()
    {
        var updates = MongoDefinitions.MessageUpdateIndexes().ToArray();
        Assert.Equal(2, updates.Length);
        Assert.Equal(BsonDocument.Parse("{ room: 1, seq: 1 }"), Render(updates[0].Keys));
        Assert.Equal("ux_room_seq", updates[0].Options.Name);
        Assert.True(updates[0].Options.Unique);
        Assert.Equal(BsonDocument.Parse("{ pos: 1 }"), Render(updates[1].Keys));

        var markers = MongoDefinitions.ReadMarkerIndexes().ToArray();
        Assert.Equal(2, markers.Length);
        Assert.Equal(BsonDocument.Parse("{ room: 1, uid: 1 }"), Render(markers[0].Keys));
        Assert.Equal(BsonDocument.Parse("{ pos: 1 }"), Render(markers[1].Keys));
    }
}
