using ChitChat.Contracts;
using ChitChat.Storage;

namespace ChitChat.Specification.Tests;

/// <summary>The message lifecycle (protocol version 2): the room's event sequence over messages and updates, edits, tombstones,
/// reactions, threads, search, read markers and their replication.</summary>
public abstract partial class StoreConformanceTests
{
    /// <summary>Opens a second store instance over the same storage as <see cref="Store"/> (another process's view of one
    /// database), for the tests of concurrent writers on several instances; <see langword="null"/> when the provider has no
    /// such thing (the in-memory store). The instance is disposed with the test.</summary>
    /// <returns>The second instance, or <see langword="null"/>.</returns>
    protected virtual Task<IChatStore?> OpenSecondInstanceAsync() => Task.FromResult<IChatStore?>(null);

    private static readonly DateTimeOffset Later = new(2026, 11, 25, 4, 0, 0, TimeSpan.Zero);

    // ---------- the event sequence ----------

    [Fact]
    public async Task Updates_take_the_room_next_seq_and_the_sequence_is_gap_free_over_messages_and_updates()
    {
        var first = (await Append(NewMessage("seqs", "first"))).Message;
        var edit = await Update("seqs", first.Id, new EditMessageText("first, edited", []));
        var second = (await Append(NewMessage("seqs", "second"))).Message;
        var react = await Update("seqs", second.Id, new AddReaction("👍", Guid.NewGuid(), 20));
        var delete = await Update("seqs", first.Id, new DeleteMessage());
        await Append(NewMessage("elsewhere", "unrelated"));

        Assert.Equal((1L, 2L, 3L, 4L, 5L), (first.Seq, edit.Update!.Seq, second.Seq, react.Update!.Seq, delete.Update!.Seq));
        Assert.All([edit, react, delete], r => Assert.Equal(MessageUpdateStatus.Updated, r.Status));
        Assert.Equal((MessageChange.Edited, 2L, first.Id, Later), (edit.Update.Change, edit.Update.MessageVersion, edit.Update.MessageId, edit.Update.At));
        Assert.Equal((MessageChange.Reactions, 2L), (react.Update.Change, react.Update.MessageVersion));
        Assert.Equal((MessageChange.Deleted, 3L), (delete.Update.Change, delete.Update.MessageVersion));
        Assert.Equal("seqs", delete.Update.Room);
        Assert.Equal(5, await Store.Messages.GetLastSeqAsync("seqs").WaitAsync(Timeout));
        Assert.Equal(1, await Store.Messages.GetLastSeqAsync("elsewhere").WaitAsync(Timeout));

        var events = await Events("seqs");
        Assert.Equal([1L, 2L, 3L, 4L, 5L], events.Select(e => e.Seq));
        Assert.Equal(
            [MessageEventKind.Posted, MessageEventKind.Updated, MessageEventKind.Posted, MessageEventKind.Updated, MessageEventKind.Updated],
            events.Select(e => e.Kind));
        Assert.Equal([null, MessageChange.Edited, null, MessageChange.Reactions, MessageChange.Deleted], events.Select(e => e.Change));

        // Every event carries the message's current state: the first message is a tombstone in all three of its events.
        var tombstone = await Store.Messages.FindAsync("seqs", first.Id).WaitAsync(Timeout);
        Assert.Equal(delete.Message, tombstone);
        Assert.All(events.Where(e => e.Message.Id == first.Id), e => Assert.Equal(tombstone, e.Message));
        Assert.Equal(react.Message, events[3].Message);
        Assert.Equal(events[3].Message, events[2].Message);

        // History keeps each message at its own seq, current state.
        var history = await Store.Messages.QueryAsync("seqs", new MessageQuery(null, null, 10)).WaitAsync(Timeout);
        Assert.Equal([tombstone!, react.Message!], history);

        // The next message follows the updates.
        Assert.Equal(6, (await Append(NewMessage("seqs", "third"))).Message.Seq);
    }

    [Fact]
    public async Task ReadEventsAsync_reads_the_range_after_up_to_and_the_earliest_limit()
    {
        var message = (await Append(NewMessage("range", "m"))).Message;
        for (var i = 0; i < 4; i++)
        {
            await Append(NewMessage("range", $"m{i}"));
            await Update("range", message.Id, new AddReaction($"e{i}", Guid.NewGuid(), 20));
        }

        // Seqs: 1 message, then (message, update) four times: 9 events.
        Assert.Equal([4L, 5L, 6L, 7L], (await Store.Messages.ReadEventsAsync("range", 3, 7, 100).WaitAsync(Timeout)).Select(e => e.Seq));
        Assert.Equal([1L, 2L, 3L], (await Store.Messages.ReadEventsAsync("range", 0, long.MaxValue, 3).WaitAsync(Timeout)).Select(e => e.Seq));
        Assert.Equal([8L, 9L], (await Store.Messages.ReadEventsAsync("range", 7, long.MaxValue, 10).WaitAsync(Timeout)).Select(e => e.Seq));
        Assert.Empty(await Store.Messages.ReadEventsAsync("range", 9, long.MaxValue, 10).WaitAsync(Timeout));
        Assert.Empty(await Store.Messages.ReadEventsAsync("range", 4, 4, 10).WaitAsync(Timeout));
        Assert.Empty(await Store.Messages.ReadEventsAsync("nowhere", 0, long.MaxValue, 10).WaitAsync(Timeout));
        var updates = (await Events("range")).Where(e => e.Kind == MessageEventKind.Updated).ToArray();
        Assert.Equal([3L, 5L, 7L, 9L], updates.Select(e => e.Seq));
        Assert.All(updates, e => Assert.Equal(5L, e.Message.Version));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.Messages.ReadEventsAsync("range", 0, 10, 0));
    }

    // ---------- each mutation's rules ----------

    [Fact]
    public async Task An_edit_replaces_text_and_mentions_and_sets_edited_at_the_same_text_changes_nothing()
    {
        var mentioned = Guid.NewGuid();
        var original = (await Append(NewMessage("edits", "hello @bob") with { Mentions = [mentioned] })).Message;

        var edit = await Update("edits", original.Id, new EditMessageText("hello again", []));
        var edited = original with { Text = "hello again", Mentions = [], EditedAt = Later, Version = 2 };
        Assert.Equal(edited, edit.Message);
        Assert.Equal(edited, await Store.Messages.FindAsync("edits", original.Id).WaitAsync(Timeout));

        var same = await Update("edits", original.Id, new EditMessageText("hello again", [mentioned]));
        Assert.Equal((MessageUpdateStatus.Unchanged, edited, (MessageUpdate?)null), (same.Status, same.Message, same.Update));
        Assert.Equal(2, await Store.Messages.GetLastSeqAsync("edits").WaitAsync(Timeout));

        Assert.Equal(MessageUpdateResult.NotFound, await Update("edits", Guid.NewGuid(), new EditMessageText("x", [])));
        Assert.Equal(MessageUpdateResult.NotFound, await Update("other-room", original.Id, new EditMessageText("x", [])));
        Assert.Null(await Store.Messages.FindAsync("other-room", original.Id).WaitAsync(Timeout));
        Assert.Null(await Store.Messages.FindAsync("edits", Guid.NewGuid()).WaitAsync(Timeout));
        Assert.Equal(2, await Store.Messages.GetLastSeqAsync("edits").WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_delete_leaves_a_tombstone_and_its_text_is_gone_from_every_read_and_from_search()
    {
        var root = (await Append(NewMessage("graves", "the root"))).Message;
        var reply = (await Append(NewMessage("graves", "a secretword reply", "key") with { ReplyTo = root.Id, ThreadRoot = root.Id, Mentions = [Guid.NewGuid()] })).Message;
        await Update("graves", reply.Id, new AddReaction("🎉", Guid.NewGuid(), 20));
        Assert.Single(await Search(["secretword"], ["graves"]));

        var delete = await Update("graves", reply.Id, new DeleteMessage());
        var tombstone = reply with { Text = string.Empty, Deleted = true, Reactions = [], Mentions = [], Version = 3 };
        Assert.Equal((MessageUpdateStatus.Updated, tombstone), (delete.Status, delete.Message));
        Assert.Equal((reply.Seq, reply.AuthorId, reply.SentAt, (Guid?)root.Id, (Guid?)root.Id), (tombstone.Seq, tombstone.AuthorId, tombstone.SentAt, tombstone.ReplyTo, tombstone.ThreadRoot));

        Assert.Equal(tombstone, await Store.Messages.FindAsync("graves", reply.Id).WaitAsync(Timeout));
        Assert.Equal(tombstone, await Store.Messages.FindByClientMessageIdAsync("graves", "key").WaitAsync(Timeout));
        Assert.Equal(tombstone, (await Store.Messages.QueryAsync("graves", new MessageQuery(null, null, 10)).WaitAsync(Timeout))[1]);
        Assert.All((await Events("graves")).Where(e => e.Message.Id == reply.Id), e => Assert.Equal(tombstone, e.Message));
        Assert.Equal(tombstone, Assert.Single(await Store.Messages.QueryThreadAsync("graves", root.Id, null, 10).WaitAsync(Timeout)));
        Assert.Empty(await Search(["secretword"], ["graves"]));

        // Deleting a tombstone changes nothing and takes no seq; a tombstone gets no reactions and no edits.
        var again = await Update("graves", reply.Id, new DeleteMessage());
        Assert.Equal((MessageUpdateStatus.Unchanged, tombstone, (MessageUpdate?)null), (again.Status, again.Message, again.Update));
        var react = await Update("graves", reply.Id, new AddReaction("🎉", Guid.NewGuid(), 20));
        Assert.Equal((MessageUpdateStatus.Refused, ChatErrorCodes.Forbidden, tombstone), (react.Status, react.RefusalCode, react.Message));
        var edit = await Update("graves", reply.Id, new EditMessageText("back", []));
        Assert.Equal((MessageUpdateStatus.Refused, ChatErrorCodes.Forbidden), (edit.Status, edit.RefusalCode));
        Assert.Equal(4, await Store.Messages.GetLastSeqAsync("graves").WaitAsync(Timeout));
        Assert.Equal(tombstone, await Store.Messages.FindAsync("graves", reply.Id).WaitAsync(Timeout));
    }

    [Fact]
    public async Task Reactions_are_idempotent_per_user_and_emoji_capped_in_distinct_emojis_and_removable()
    {
        var (ann, ben) = (Guid.NewGuid(), Guid.NewGuid());
        var message = (await Append(NewMessage("reacts", "react to me"))).Message;

        Assert.Equal(MessageUpdateStatus.Updated, (await Update("reacts", message.Id, new AddReaction("👍", ann, 2))).Status);
        var repeat = await Update("reacts", message.Id, new AddReaction("👍", ann, 2));
        Assert.Equal((MessageUpdateStatus.Unchanged, (MessageUpdate?)null), (repeat.Status, repeat.Update));
        Assert.Equal(MessageUpdateStatus.Updated, (await Update("reacts", message.Id, new AddReaction("❤️", ben, 2))).Status);
        Assert.Equal(MessageUpdateStatus.Updated, (await Update("reacts", message.Id, new AddReaction("👍", ben, 2))).Status);

        // At the cap a new emoji is refused, an existing one still takes another user.
        var capped = await Update("reacts", message.Id, new AddReaction("🎉", ann, 2));
        Assert.Equal((MessageUpdateStatus.Refused, ChatErrorCodes.ValidationFailed), (capped.Status, capped.RefusalCode));
        var atCap = await Update("reacts", message.Id, new AddReaction("❤️", ann, 2));
        Assert.Equal(MessageUpdateStatus.Updated, atCap.Status);
        Assert.Equal([new MessageReaction("👍", [ann, ben]), new MessageReaction("❤️", [ben, ann])], atCap.Message!.Reactions);
        Assert.Equal(5, atCap.Message.Version);
        Assert.Equal(5, await Store.Messages.GetLastSeqAsync("reacts").WaitAsync(Timeout));

        // Removing: the user leaves the emoji; the last user takes the emoji away; removing what is not there changes nothing.
        Assert.Equal(MessageUpdateStatus.Updated, (await Update("reacts", message.Id, new RemoveReaction("👍", ann))).Status);
        var last = await Update("reacts", message.Id, new RemoveReaction("❤️", ben));
        Assert.Equal(MessageUpdateStatus.Updated, (await Update("reacts", message.Id, new RemoveReaction("❤️", ann))).Status);
        Assert.Equal(MessageUpdateStatus.Unchanged, (await Update("reacts", message.Id, new RemoveReaction("❤️", ann))).Status);
        Assert.Equal(MessageUpdateStatus.Unchanged, (await Update("reacts", message.Id, new RemoveReaction("👍", ann))).Status);
        Assert.Equal([new MessageReaction("👍", [ben]), new MessageReaction("❤️", [ann])], last.Message!.Reactions);
        var final = await Store.Messages.FindAsync("reacts", message.Id).WaitAsync(Timeout);
        Assert.Equal([new MessageReaction("👍", [ben])], final!.Reactions);
        Assert.Equal((8L, "react to me"), (final.Version, final.Text));
        Assert.Equal(8, await Store.Messages.GetLastSeqAsync("reacts").WaitAsync(Timeout));
    }

    [Fact]
    public async Task Concurrent_updates_of_one_message_are_all_applied_with_strictly_increasing_versions_and_seqs()
    {
        var second = await OpenSecondInstanceAsync();
        var message = (await Append(NewMessage("hot", "popular"))).Message;
        const int writers = 40;
        var users = Enumerable.Range(0, writers).Select(_ => Guid.NewGuid()).ToArray();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = users.Select((user, i) => Task.Run(async () =>
        {
            await start.Task;
            var store = second is not null && i % 2 == 1 ? second : Store;
            return await store.Messages.UpdateAsync("hot", message.Id, new AddReaction(i % 3 == 0 ? "🔥" : "👍", user, 20), Later);
        })).ToArray();
        start.SetResult();
        var results = await Task.WhenAll(tasks).WaitAsync(Timeout);

        Assert.All(results, r => Assert.Equal(MessageUpdateStatus.Updated, r.Status));
        Assert.Equal(Enumerable.Range(2, writers).Select(i => (long)i), results.Select(r => r.Update!.Seq).Order());
        Assert.Equal(Enumerable.Range(2, writers).Select(i => (long)i), results.Select(r => r.Update!.MessageVersion).Order());
        Assert.All(results, r => Assert.Equal(r.Update!.Seq, r.Update.MessageVersion)); // version n was made by the n-th event of this room

        // No update lost: every user's reaction is there, each the result of the one before.
        var final = (await Store.Messages.FindAsync("hot", message.Id).WaitAsync(Timeout))!;
        Assert.Equal(writers + 1, final.Version);
        Assert.Equal(users.ToHashSet(), final.Reactions.SelectMany(r => r.UserIds).ToHashSet());
        Assert.Equal(writers, final.Reactions.Sum(r => r.Count));
        foreach (var result in results)
        {
            Assert.Equal(result.Update!.MessageVersion - 1, result.Message!.Reactions.Sum(r => r.Count));
        }

        var events = await Events("hot");
        Assert.Equal(Enumerable.Range(1, writers + 1).Select(i => (long)i), events.Select(e => e.Seq));
        if (second is not null)
        {
            Assert.Equal(final, await second.Messages.FindAsync("hot", message.Id).WaitAsync(Timeout));
            Assert.Equal(writers + 2, (await second.Messages.AppendAsync(NewMessage("hot", "after")).WaitAsync(Timeout)).Message.Seq);
        }
    }

    [Fact]
    public async Task A_delete_racing_reactions_ends_as_a_tombstone_without_reactions_and_every_change_sequenced()
    {
        var second = await OpenSecondInstanceAsync();
        for (var round = 0; round < 8; round++)
        {
            var room = $"race{round}";
            var message = (await Append(NewMessage(room, "contested"))).Message;
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var reactions = Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
            {
                await start.Task;
                return await (second ?? Store).Messages.UpdateAsync(room, message.Id, new AddReaction("👀", Guid.NewGuid(), 20), Later);
            })).ToArray();
            var delete = Task.Run(async () =>
            {
                await start.Task;
                return await Store.Messages.UpdateAsync(room, message.Id, new DeleteMessage(), Later);
            });
            start.SetResult();
            var deleted = await delete.WaitAsync(Timeout);
            var reacted = await Task.WhenAll(reactions).WaitAsync(Timeout);

            Assert.Equal(MessageUpdateStatus.Updated, deleted.Status);
            var final = (await Store.Messages.FindAsync(room, message.Id).WaitAsync(Timeout))!;
            Assert.True(final.Deleted);
            Assert.Empty(final.Reactions);
            Assert.Equal(deleted.Message, final);

            // A reaction either came before the delete (sequenced before it) or was refused on the tombstone.
            var applied = reacted.Where(r => r.Status == MessageUpdateStatus.Updated).ToArray();
            Assert.All(reacted.Where(r => r.Status != MessageUpdateStatus.Updated), r => Assert.Equal(MessageUpdateStatus.Refused, r.Status));
            Assert.All(applied, r => Assert.True(r.Update!.Seq < deleted.Update!.Seq));
            Assert.Equal(applied.Length + 2, deleted.Update!.Seq);
            Assert.Equal(applied.Length + 2, final.Version);
            var events = await Events(room);
            Assert.Equal(Enumerable.Range(1, applied.Length + 2).Select(i => (long)i), events.Select(e => e.Seq));
            Assert.Equal(MessageChange.Deleted, events[^1].Change);
        }
    }

    [Fact]
    public async Task A_retried_client_message_id_returns_the_original_in_its_current_state_after_an_edit_and_a_delete()
    {
        var first = await Append(NewMessage("again", "original", "k1"));
        var edited = await Update("again", first.Message.Id, new EditMessageText("changed", []));

        var retry = await Append(NewMessage("again", "retried text", "k1"));
        Assert.False(retry.Created);
        Assert.Equal(edited.Message, retry.Message);
        Assert.Equal(first.Message.Id, retry.Message.Id);

        var deleted = await Update("again", first.Message.Id, new DeleteMessage());
        var late = await Append(NewMessage("again", "retried once more", "k1"));
        Assert.False(late.Created);
        Assert.Equal(deleted.Message, late.Message);
        Assert.True(late.Message.Deleted);
        Assert.Equal(deleted.Message, await Store.Messages.FindByClientMessageIdAsync("again", "k1").WaitAsync(Timeout));
        Assert.Equal(3, await Store.Messages.GetLastSeqAsync("again").WaitAsync(Timeout));
        Assert.Single(await Store.Messages.QueryAsync("again", new MessageQuery(null, null, 10)).WaitAsync(Timeout));
    }

    // ---------- threads ----------

    [Fact]
    public async Task A_thread_lists_its_replies_in_order_and_the_root_counts_the_replies_that_are_not_deleted()
    {
        var root = (await Append(NewMessage("threads", "root"))).Message;
        var other = (await Append(NewMessage("threads", "another root"))).Message;
        var r1 = (await Append(NewMessage("threads", "reply one") with { ReplyTo = root.Id, ThreadRoot = root.Id })).Message;
        var r2 = (await Append(NewMessage("threads", "reply to the reply") with { ReplyTo = r1.Id, ThreadRoot = root.Id })).Message;
        var o1 = (await Append(NewMessage("threads", "other reply") with { ReplyTo = other.Id, ThreadRoot = other.Id })).Message;
        var r3 = (await Append(NewMessage("threads", "reply three") with { ReplyTo = root.Id, ThreadRoot = root.Id })).Message;

        Assert.Equal((root.Id, (Guid?)r1.Id, (Guid?)root.Id), (r2.ThreadRoot!.Value, r2.ReplyTo, r2.ThreadRoot));
        Assert.Equal([r1, r2, r3], await Store.Messages.QueryThreadAsync("threads", root.Id, null, 10).WaitAsync(Timeout));
        Assert.Equal([r1, r2], await Store.Messages.QueryThreadAsync("threads", root.Id, null, 2).WaitAsync(Timeout));
        Assert.Equal([r3], await Store.Messages.QueryThreadAsync("threads", root.Id, r2.Seq, 10).WaitAsync(Timeout));
        Assert.Equal([o1], await Store.Messages.QueryThreadAsync("threads", other.Id, null, 10).WaitAsync(Timeout));
        Assert.Empty(await Store.Messages.QueryThreadAsync("elsewhere", root.Id, null, 10).WaitAsync(Timeout));
        Assert.Empty(await Store.Messages.QueryThreadAsync("threads", r1.Id, null, 10).WaitAsync(Timeout));

        Assert.Equal(3, (await Store.Messages.FindAsync("threads", root.Id).WaitAsync(Timeout))!.ReplyCount);
        Assert.Equal(0, (await Store.Messages.FindAsync("threads", r1.Id).WaitAsync(Timeout))!.ReplyCount);

        // A deleted reply stays in the thread as a tombstone but is not counted; every read derives the count.
        await Update("threads", r2.Id, new DeleteMessage());
        var edit = await Update("threads", root.Id, new EditMessageText("root, edited", []));
        Assert.Equal(2, edit.Message!.ReplyCount);
        Assert.Equal(2, (await Store.Messages.FindAsync("threads", root.Id).WaitAsync(Timeout))!.ReplyCount);
        Assert.Equal(2, (await Store.Messages.QueryAsync("threads", new MessageQuery(null, null, 10)).WaitAsync(Timeout))[0].ReplyCount);
        Assert.Equal(1, (await Store.Messages.QueryAsync("threads", new MessageQuery(null, null, 10)).WaitAsync(Timeout))[1].ReplyCount);
        Assert.All((await Events("threads")).Where(e => e.Message.Id == root.Id), e => Assert.Equal(2, e.Message.ReplyCount));
        var thread = await Store.Messages.QueryThreadAsync("threads", root.Id, null, 10).WaitAsync(Timeout);
        Assert.Equal([r1.Id, r2.Id, r3.Id], thread.Select(m => m.Id));
        Assert.True(thread[1].Deleted);
    }

    // ---------- search ----------

    [Fact]
    public async Task Search_requires_every_term_as_a_word_folding_case_and_diacritics()
    {
        var cafe = (await Append(NewMessage("search", "Café au lait, s'il vous plaît"))).Message;
        var open = (await Append(NewMessage("search", "the CAFE is open"))).Message;
        var source = (await Append(NewMessage("search", "open source software"))).Message;
        var unicode = (await Append(NewMessage("search", "Ünïcödé naïveté façade"))).Message;
        await Append(NewMessage("search", "cafeteria opening"));

        Assert.Equal([open, cafe], await Search(SearchText.Terms("cafe"), ["search"]));
        Assert.Equal([open, cafe], await Search(SearchText.Terms("CAFÉ"), ["search"]));
        Assert.Equal([open], await Search(SearchText.Terms("café OPEN"), ["search"]));
        Assert.Equal([source, open], await Search(SearchText.Terms("open"), ["search"]));
        Assert.Equal([unicode], await Search(SearchText.Terms("unicode naivete FACADE"), ["search"]));
        Assert.Empty(await Search(SearchText.Terms("cafe source"), ["search"]));
        Assert.Empty(await Search(SearchText.Terms("nothing"), ["search"]));
        Assert.Empty(await Search(SearchText.Terms("cafe"), ["elsewhere"]));
    }

    [Fact]
    public async Task Search_treats_operators_quotes_and_parentheses_as_plain_text()
    {
        var tricky = (await Append(NewMessage("ops", "he said \"hello\" (NEAR the door) AND left - OR *stars* col:umn ^caret"))).Message;
        var plain = (await Append(NewMessage("ops", "hello world"))).Message;

        Assert.Equal([plain, tricky], await Search(SearchText.Terms("\"hello"), ["ops"]));
        Assert.Equal([tricky], await Search(SearchText.Terms("NEAR(hello door)"), ["ops"]));
        Assert.Equal([tricky], await Search(SearchText.Terms("AND OR"), ["ops"]));
        Assert.Equal([tricky], await Search(SearchText.Terms("hello -left"), ["ops"]));
        Assert.Equal([tricky], await Search(SearchText.Terms("*stars* col:umn ^caret"), ["ops"]));
        Assert.Empty(await Search(SearchText.Terms("NOT hello"), ["ops"]));

        // Terms handed to the store as they are (not cut by SearchText) never make a syntax error either.
        foreach (var raw in new[] { "\"", "\"\"", "*", "-", "(", ")", "NEAR(", "AND", "OR", "NOT", "hello\"", "a\"b", ":", "^", "{", "}", "+", "'", "\\" })
        {
            var found = await Store.Messages.SearchAsync(new MessageSearch([raw, "hello"], ["ops"], null, 10)).WaitAsync(Timeout);
            Assert.All(found, m => Assert.Contains("hello", m.Text, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Search_never_fails_on_any_query_and_every_result_has_every_term()
    {
        string[] texts = ["alpha beta", "beta gamma \"quoted\"", "NEAR(alpha) AND gamma*", "élan vital - OR not", "x:y ^z {a} +b 'c' \\d"];
        foreach (var text in texts)
        {
            await Append(NewMessage("fuzz", text));
        }

        var pieces = new[] { "\"", "*", "(", ")", "-", ":", "^", "{", "}", "+", "'", "\\", "NEAR", "AND", "OR", "NOT", "alpha", "beta", "Gamma", "ELAN", "x", "é", " ", " ", "\0", "\u0301", "🙂" };
        var random = new Random(13);
        for (var i = 0; i < 300; i++)
        {
            var query = string.Concat(Enumerable.Range(0, random.Next(1, 8)).Select(_ => pieces[random.Next(pieces.Length)]));
            var terms = SearchText.Terms(query);
            var raw = query.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var given in new[] { terms, raw })
            {
                if (given.Count == 0)
                {
                    continue;
                }

                var found = await Store.Messages.SearchAsync(new MessageSearch(given, ["fuzz"], null, 10)).WaitAsync(Timeout);
                var expected = given.SelectMany(SearchText.Words).Distinct().ToArray();
                Assert.All(found, m => Assert.True(expected.All(SearchText.Words(m.Text).Contains), $"'{m.Text}' does not have every term of '{query}'"));
            }

            if (terms.Count > 0)
            {
                var expectedTexts = texts.Where(t => terms.All(SearchText.Words(t).Contains)).Order(StringComparer.Ordinal);
                var foundTexts = (await Search(terms, ["fuzz"])).Select(m => m.Text).Order(StringComparer.Ordinal);
                Assert.Equal(expectedTexts, foundTexts);
            }
        }
    }

    [Fact]
    public async Task Search_pages_newest_first_by_cursor_within_the_given_rooms()
    {
        var all = new List<ChatMessage>();
        for (var i = 0; i < 12; i++)
        {
            foreach (var room in new[] { "page-a", "page-b" })
            {
                // Three messages share each sentAt: the order falls back to seq, then room.
                var sent = Later.AddMinutes(i / 3);
                all.Add((await Append(NewMessage(room, $"needle {i} in {room}") with { SentAt = sent })).Message);
            }
        }

        await Append(NewMessage("page-c", "needle elsewhere"));
        var expected = all.OrderByDescending(m => m.SentAt).ThenByDescending(m => m.Seq).ThenByDescending(m => m.Room, StringComparer.Ordinal).ToArray();

        var pages = new List<ChatMessage>();
        MessageSearchCursor? cursor = null;
        for (var page = 0; page < 10; page++)
        {
            var found = await Store.Messages.SearchAsync(new MessageSearch(["needle"], ["page-a", "page-b"], cursor, 5)).WaitAsync(Timeout);
            Assert.True(found.Count <= 5);
            pages.AddRange(found);
            if (found.Count < 5)
            {
                break;
            }

            cursor = MessageSearchCursor.Of(found[^1]);
        }

        Assert.Equal(expected, pages);
        Assert.Equal(expected.Where(m => m.Room == "page-b"), await Search(["needle"], ["page-b"], 100));
        Assert.Equal(3, (await Search(["needle"], ["page-a", "page-b", "page-c"], 3)).Count);
        Assert.Equal(25, (await Search(["needle"], ["page-a", "page-b", "page-c"], 100)).Count);
    }

    [Fact]
    public async Task Edited_and_deleted_text_leaves_the_search_results()
    {
        var message = (await Append(NewMessage("changing", "the original wording"))).Message;
        var other = (await Append(NewMessage("changing", "original too"))).Message;
        Assert.Equal([other, message], await Search(["original"], ["changing"]));

        var edited = (await Update("changing", message.Id, new EditMessageText("a revised phrasing", []))).Message;
        Assert.Equal([other], await Search(["original"], ["changing"]));
        Assert.Equal([edited!], await Search(["revised"], ["changing"]));

        await Update("changing", message.Id, new AddReaction("✅", Guid.NewGuid(), 20));
        var reacted = await Store.Messages.FindAsync("changing", message.Id).WaitAsync(Timeout);
        Assert.Equal([reacted!], await Search(["revised"], ["changing"]));

        await Update("changing", message.Id, new DeleteMessage());
        await Update("changing", other.Id, new DeleteMessage());
        Assert.Empty(await Search(["revised"], ["changing"]));
        Assert.Empty(await Search(["original"], ["changing"]));
    }

    // ---------- read markers ----------

    [Fact]
    public async Task A_read_marker_only_moves_forward()
    {
        var user = Guid.NewGuid();
        Assert.Null(await Store.ReadState.FindAsync("marks", user).WaitAsync(Timeout));

        var (marker, moved) = await Store.ReadState.MarkReadAsync("marks", user, 5, Now).WaitAsync(Timeout);
        Assert.True(moved);
        Assert.Equal(new ReadMarker("marks", user, 5, Now), marker);

        var back = await Store.ReadState.MarkReadAsync("marks", user, 3, Later).WaitAsync(Timeout);
        Assert.Equal((new ReadMarker("marks", user, 5, Now), false), back);
        var same = await Store.ReadState.MarkReadAsync("marks", user, 5, Later).WaitAsync(Timeout);
        Assert.Equal((new ReadMarker("marks", user, 5, Now), false), same);
        var forward = await Store.ReadState.MarkReadAsync("marks", user, 9, Later).WaitAsync(Timeout);
        Assert.Equal((new ReadMarker("marks", user, 9, Later), true), forward);

        Assert.Equal(new ReadMarker("marks", user, 9, Later), await Store.ReadState.FindAsync("marks", user).WaitAsync(Timeout));
        Assert.Null(await Store.ReadState.FindAsync("other", user).WaitAsync(Timeout));
        Assert.Null(await Store.ReadState.FindAsync("marks", Guid.NewGuid()).WaitAsync(Timeout));
    }

    [Fact]
    public async Task Concurrent_read_markers_end_at_the_highest()
    {
        var second = await OpenSecondInstanceAsync();
        var user = Guid.NewGuid();
        var seqs = Enumerable.Range(1, 60).Select(i => (long)i).OrderBy(_ => Random.Shared.Next()).ToArray();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = seqs.Select((seq, i) => Task.Run(async () =>
        {
            await start.Task;
            return await (second is not null && i % 2 == 1 ? second : Store).ReadState.MarkReadAsync("busy-marks", user, seq, Later);
        })).ToArray();
        start.SetResult();
        var results = await Task.WhenAll(tasks).WaitAsync(Timeout);

        Assert.Equal(60, (await Store.ReadState.FindAsync("busy-marks", user).WaitAsync(Timeout))!.Seq);
        Assert.Contains(results, r => r.Moved && r.Marker.Seq == 60);
        Assert.All(results.Zip(seqs), p => Assert.True(p.First.Marker.Seq >= p.Second));
    }

    [Fact]
    public async Task The_room_list_counts_unread_messages_by_others_and_mentions_after_the_read_marker()
    {
        var (me, you) = (NewUser("reader"), NewUser("writer"));
        Assert.True(await Store.Rooms.TryCreateWithMembersAsync(NewRoom("news"), [Join("news", me), Join("news", you)]).WaitAsync(Timeout));
        Assert.True(await Store.Rooms.TryCreateAsync(NewRoom("lobby")).WaitAsync(Timeout));

        NewMessage By(ChatUser author, string room, string text, params Guid[] mentions) =>
            NewMessage(room, text) with { AuthorId = author.Id, AuthorName = author.UserName, Mentions = mentions };

        var m1 = (await Append(By(you, "news", "one"))).Message;
        await Append(By(me, "news", "mine, not unread"));
        var m3 = (await Append(By(you, "news", "hey @reader", me.Id))).Message;
        var m4 = (await Append(By(you, "news", "to be deleted @reader", me.Id))).Message;
        var m5 = (await Append(By(you, "news", "reply @reader @writer", me.Id, you.Id) with { ReplyTo = m1.Id, ThreadRoot = m1.Id })).Message;
        await Update("news", m4.Id, new DeleteMessage());
        await Update("news", m1.Id, new AddReaction("👍", me.Id, 20));
        await Append(By(you, "lobby", "public chatter @reader", me.Id));

        var news = await Entry(me.Id, "news");
        Assert.Equal((0L, 3L, 2L, 7L), (news.ReadSeq, news.Unread, news.Mentions, news.LastSeq));
        var theirs = await Entry(you.Id, "news");
        Assert.Equal((0L, 1L, 0L), (theirs.ReadSeq, theirs.Unread, theirs.Mentions));

        // Not a member of the public room: nothing counted.
        var lobby = await Entry(me.Id, "lobby");
        Assert.Equal((0L, 0L, 0L, 1L), (lobby.ReadSeq, lobby.Unread, lobby.Mentions, lobby.LastSeq));

        await Store.ReadState.MarkReadAsync("news", me.Id, m3.Seq, Later).WaitAsync(Timeout);
        news = await Entry(me.Id, "news");
        Assert.Equal((m3.Seq, 1L, 1L), (news.ReadSeq, news.Unread, news.Mentions));

        // An edit that drops the mention drops it from the count.
        await Update("news", m5.Id, new EditMessageText("reply without mentions", []));
        news = await Entry(me.Id, "news");
        Assert.Equal((1L, 0L), (news.Unread, news.Mentions));

        await Store.ReadState.MarkReadAsync("news", me.Id, 9, Later).WaitAsync(Timeout);
        news = await Entry(me.Id, "news");
        Assert.Equal((9L, 0L, 0L), (news.ReadSeq, news.Unread, news.Mentions));
        theirs = await Entry(you.Id, "news");
        Assert.Equal((0L, 1L, 0L), (theirs.ReadSeq, theirs.Unread, theirs.Mentions));
    }

    // ---------- replication ----------

    [Fact]
    public async Task The_change_feed_carries_updates_and_read_markers_and_a_replica_converges_from_it()
    {
        var reader = Guid.NewGuid();
        var root = (await Append(NewMessage("mirror", "root text", "r"))).Message;
        var reply = (await Append(NewMessage("mirror", "reply with secretword") with { ReplyTo = root.Id, ThreadRoot = root.Id })).Message;
        await Update("mirror", root.Id, new EditMessageText("root edited", []));
        await Update("mirror", root.Id, new AddReaction("👍", reader, 20));
        await Update("mirror", reply.Id, new DeleteMessage());
        await Store.ReadState.MarkReadAsync("mirror", reader, 3, Now).WaitAsync(Timeout);
        await Store.ReadState.MarkReadAsync("mirror", reader, 4, Later).WaitAsync(Timeout);

        var feed = (await Store.Replication.ReadChangesAsync(0, 1000).WaitAsync(Timeout)).Changes;
        var updates = feed.Where(c => c.Kind == DocumentKind.MessageUpdate).Select(c => c.Update!).OrderBy(u => u.Seq).ToArray();
        Assert.Equal([3L, 4L, 5L], updates.Select(u => u.Seq));
        Assert.Equal([MessageChange.Edited, MessageChange.Reactions, MessageChange.Deleted], updates.Select(u => u.Change));
        Assert.All(updates, u => Assert.Equal(MessageUpdate.IdFor("mirror", u.Seq), u.Id));
        Assert.Equal(new ReadMarker("mirror", reader, 4, Later), feed.Last(c => c.Kind == DocumentKind.ReadMarker).ReadMarker);
        var tombstone = feed.Last(c => c.Kind == DocumentKind.Message && c.Message!.Id == reply.Id).Message!;
        Assert.Equal((true, string.Empty), (tombstone.Deleted, tombstone.Text));
        Assert.All(feed, c => Assert.True(c.HasDocument));

        var replica = await NewStoreAsync();
        var position = 0L;
        while (true)
        {
            var batch = await Store.Replication.ReadChangesAsync(position, 3).WaitAsync(Timeout);
            if (batch.Changes.Count == 0)
            {
                break;
            }

            position = batch.NextCheckpoint(position);
            await replica.Replication.ApplyAsync(new ReplicationWrite(batch.Changes, "src", 1, position)).WaitAsync(Timeout);
        }

        Assert.Equal(await Events("mirror"), await replica.Messages.ReadEventsAsync("mirror", 0, long.MaxValue, 100).WaitAsync(Timeout));
        Assert.Equal(5, await replica.Messages.GetLastSeqAsync("mirror").WaitAsync(Timeout));
        Assert.Equal(await Store.Messages.FindAsync("mirror", root.Id), await replica.Messages.FindAsync("mirror", root.Id).WaitAsync(Timeout));
        Assert.Equal(0, (await replica.Messages.FindAsync("mirror", root.Id).WaitAsync(Timeout))!.ReplyCount);
        Assert.Equal(new ReadMarker("mirror", reader, 4, Later), await replica.ReadState.FindAsync("mirror", reader).WaitAsync(Timeout));
        Assert.Empty(await replica.Messages.SearchAsync(new MessageSearch(["secretword"], ["mirror"], null, 10)).WaitAsync(Timeout));
        Assert.Empty(await replica.Messages.SearchAsync(new MessageSearch(["text"], ["mirror"], null, 10)).WaitAsync(Timeout));
        Assert.Single(await replica.Messages.SearchAsync(new MessageSearch(["edited"], ["mirror"], null, 10)).WaitAsync(Timeout));
        Assert.Equal((await Store.Messages.FindAsync("mirror", root.Id))!.Version, (await replica.Messages.AppendAsync(NewMessage("mirror", "retry", "r")).WaitAsync(Timeout)).Message.Version);

        // Applying the feed again changes nothing.
        Assert.Equal(0, await replica.Replication.ApplyAsync(new ReplicationWrite(feed, "src", 1, position)).WaitAsync(Timeout));
        Assert.Equal(6, (await replica.Messages.AppendAsync(NewMessage("mirror", "next")).WaitAsync(Timeout)).Message.Seq);
    }

    [Fact]
    public async Task Replicated_message_versions_and_read_markers_converge_higher_wins_older_is_ignored()
    {
        var user = Guid.NewGuid();
        var v1 = new ChatMessage(Guid.CreateVersion7(), "converge", 1, user, "u", "first words", Now, null, 1);
        var v2 = v1 with { Text = "second words", EditedAt = Later, Version = 2 };
        var v3 = v2 with { Reactions = [new MessageReaction("👍", [user])], Version = 3 };
        var v4 = v3 with { Text = string.Empty, Deleted = true, Reactions = [], Version = 4 };

        Assert.Equal(1, await Apply(1, ChangeRecord.ForMessage(1, Now, v1)));
        Assert.Equal(1, await Apply(1, ChangeRecord.ForMessage(3, Now, v3)));
        Assert.Equal(0, await Apply(1, ChangeRecord.ForMessage(2, Now, v2)));
        Assert.Equal(0, await Apply(1, ChangeRecord.ForMessage(1, Now, v1)));
        Assert.Equal(v3, await Store.Messages.FindAsync("converge", v1.Id).WaitAsync(Timeout));
        Assert.Equal([v3], await Search(["second"], ["converge"]));
        Assert.Empty(await Search(["first"], ["converge"]));

        var update = new MessageUpdate("converge", 2, v1.Id, MessageChange.Edited, 2, Later);
        Assert.Equal(1, await Apply(1, ChangeRecord.ForUpdate(4, Now, update)));
        Assert.Equal(0, await Apply(1, ChangeRecord.ForUpdate(4, Now, update)));
        Assert.Equal(2, await Apply(1, ChangeRecord.ForMessage(5, Now, v4), ChangeRecord.ForUpdate(6, Now, new MessageUpdate("converge", 3, v1.Id, MessageChange.Deleted, 4, Later))));
        Assert.Equal(0, await Apply(1, ChangeRecord.ForMessage(3, Now, v3)));
        Assert.Equal(v4, await Store.Messages.FindAsync("converge", v1.Id).WaitAsync(Timeout));
        Assert.Empty(await Search(["second"], ["converge"]));
        Assert.Equal(3, await Store.Messages.GetLastSeqAsync("converge").WaitAsync(Timeout));
        var events = await Events("converge");
        Assert.Equal([1L, 2L, 3L], events.Select(e => e.Seq));
        Assert.All(events, e => Assert.Equal(v4, e.Message));

        Assert.Equal(1, await Apply(1, ChangeRecord.ForReadMarker(7, Now, new ReadMarker("converge", user, 3, Later))));
        Assert.Equal(0, await Apply(1, ChangeRecord.ForReadMarker(8, Now, new ReadMarker("converge", user, 2, Now))));
        Assert.Equal(0, await Apply(1, ChangeRecord.ForReadMarker(7, Now, new ReadMarker("converge", user, 3, Later))));
        Assert.Equal(new ReadMarker("converge", user, 3, Later), await Store.ReadState.FindAsync("converge", user).WaitAsync(Timeout));

        // The local sequence continues after the replicated events.
        Assert.Equal(4, (await Append(NewMessage("converge", "local"))).Message.Seq);
    }

    [Fact]
    public async Task Scan_orders_updates_by_room_then_seq_and_read_markers_by_room_then_user()
    {
        var (u1, u2) = (new Guid("00000000-0000-0000-0000-000000000001"), new Guid("00000000-0000-0000-0000-000000000002"));
        foreach (var room in new[] { "scan-b", "scan-a" })
        {
            var message = (await Append(NewMessage(room, "m"))).Message;
            await Update(room, message.Id, new AddReaction("1", u1, 20));
            await Update(room, message.Id, new AddReaction("2", u1, 20));
            await Store.ReadState.MarkReadAsync(room, u2, 2, Now).WaitAsync(Timeout);
            await Store.ReadState.MarkReadAsync(room, u1, 3, Now).WaitAsync(Timeout);
        }

        var feed = (await Store.Replication.ReadChangesAsync(0, 1000).WaitAsync(Timeout)).Changes.ToDictionary(c => c.DocumentId, c => c.Position);
        var updates = await Scan(DocumentKind.MessageUpdate);
        Assert.Equal(["scan-a/2", "scan-a/3", "scan-b/2", "scan-b/3"], updates.Select(c => $"{c.Update!.Room}/{c.Update.Seq}"));
        var markers = await Scan(DocumentKind.ReadMarker);
        Assert.Equal([(u1, 3L), (u2, 2L), (u1, 3L), (u2, 2L)], markers.Select(c => (c.ReadMarker!.UserId, c.ReadMarker.Seq)));
        Assert.Equal(["scan-a", "scan-a", "scan-b", "scan-b"], markers.Select(c => c.ReadMarker!.Room));
        Assert.All(updates.Concat(markers), c => Assert.Equal(feed[c.DocumentId], c.Position));
    }

    private async Task<List<ChangeRecord>> Scan(DocumentKind kind)
    {
        var scanned = new List<ChangeRecord>();
        await foreach (var record in Store.Replication.ScanAsync(kind).WithCancellation(TestContext.Current.CancellationToken))
        {
            scanned.Add(record);
        }

        return scanned;
    }

    private async Task<AppendResult> Append(NewMessage message) => await Store.Messages.AppendAsync(message).WaitAsync(Timeout);

    private async Task<MessageUpdateResult> Update(string room, Guid id, MessageMutation mutation) =>
        await Store.Messages.UpdateAsync(room, id, mutation, Later).WaitAsync(Timeout);

    private async Task<IReadOnlyList<MessageEvent>> Events(string room) =>
        await Store.Messages.ReadEventsAsync(room, 0, long.MaxValue, 1000).WaitAsync(Timeout);

    private async Task<IReadOnlyList<ChatMessage>> Search(IReadOnlyList<string> terms, string[] rooms, int limit = 20) =>
        await Store.Messages.SearchAsync(new MessageSearch(terms, rooms, null, limit)).WaitAsync(Timeout);

    private async Task<RoomListEntry> Entry(Guid userId, string room) =>
        (await Store.Rooms.ListForUserAsync(userId).WaitAsync(Timeout)).Single(e => e.Room.Name == room);
}
