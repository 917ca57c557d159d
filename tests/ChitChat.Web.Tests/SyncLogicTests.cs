namespace ChitChat.Web.Tests;

/// <summary>
/// The client's merge logic (wwwroot/js/sync.js) in real Chromium against a scripted fake hub: the paths a live server
/// rarely produces on demand (a gap in live events, duplicates, events racing a join, a catch-up beyond the cap).
/// </summary>
public sealed class SyncLogicTests(WebUiFixture fixture) : IClassFixture<WebUiFixture>
{
    private const string Script = """
        async () => {
          const { ChatSync } = await import('/js/sync.js');
          const room = 'r';
          const all = Array.from({ length: 40 }, (_, i) => ({ room, seq: i + 1, id: 'm' + (i + 1), authorId: 'a', authorName: 'a', text: 't' + (i + 1), sentAt: new Date().toISOString() }));
          const calls = [];
          let serverLast = 10;
          let joinGate = null;
          const invoke = async (method, ...args) => {
            calls.push(method + '(' + args.map(a => a === null ? 'null' : a).join(',') + ')');
            if (method === 'JoinRoom') {
              if (joinGate) await joinGate;
              const after = args[1] ?? 0;
              const missed = all.filter(m => m.seq > after && m.seq <= serverLast);
              const cap = 2;
              return { room, lastSeq: serverLast, missed: after === 0 ? missed : missed.slice(0, cap), hasMore: after !== 0 && missed.length > cap };
            }
            if (method === 'GetHistory') {
              const [, before, after, limit] = args;
              let page = all.filter(m => m.seq <= serverLast && (before === null || m.seq < before) && (after === null || m.seq > after));
              page = after === null ? page.slice(-limit) : page.slice(0, limit);
              return page;
            }
            throw new Error('unexpected ' + method);
          };
          const appended = [];
          const sync = new ChatSync(invoke, { appended: (st, ms) => appended.push(...ms.map(m => m.seq)), prepended() {}, error() {} });
          const result = {};

          // First join: 1..10.
          await sync.join(room);
          result.firstJoin = [...appended];

          // Live: a duplicate, then a gap (13 while at 10) filled with GetHistory(afterSeq), then 14 twice.
          serverLast = 14;
          sync.onLive(all[9]);
          sync.onLive(all[12]);
          await sync.rooms.get(room).queue;
          sync.onLive(all[13]);
          sync.onLive(all[13]);
          result.afterGap = [...appended];

          // Re-join after a reconnect with more missed than the cap: paged forward to lastSeq.
          serverLast = 30;
          await sync.join(room);
          result.afterRejoin = [...appended];

          // Live events racing a join are buffered and applied once, in order, after it.
          let open;
          joinGate = new Promise(r => { open = r; });
          serverLast = 33;
          const joining = sync.join(room);
          sync.onLive(all[34]); // 35 arrives before the join's result (34 not yet seen)
          sync.onLive(all[33]); // 34
          sync.onLive(all[31]); // 32, also in the join's missed
          open();
          await joining;
          await sync.rooms.get(room).queue;
          result.afterRace = [...appended];
          result.ordered = sync.rooms.get(room).ordered().map(m => m.seq);
          result.calls = calls;
          return JSON.stringify(result);
        }
        """;

    private sealed record Result(long[] FirstJoin, long[] AfterGap, long[] AfterRejoin, long[] AfterRace, long[] Ordered, string[] Calls);

    [Fact]
    public async Task Merge_by_seq_fills_gaps_drops_duplicates_and_buffers_events_during_a_join()
    {
        await using var page = await fixture.OpenAsync();
        var json = await page.Page.EvaluateAsync<string>(Script).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        var result = System.Text.Json.JsonSerializer.Deserialize<Result>(json, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!;

        static long[] Range(int from, int to) => [.. Enumerable.Range(from, to - from + 1).Select(i => (long)i)];
        Assert.Equal(Range(1, 10), result.FirstJoin);
        Assert.Equal(Range(1, 14), result.AfterGap);
        Assert.Contains("GetHistory(r,null,10,2)", result.Calls);
        Assert.Equal(Range(1, 30), result.AfterRejoin);
        Assert.Contains("JoinRoom(r,14)", result.Calls);
        Assert.Equal(Range(1, 35), result.AfterRace);
        Assert.Equal(Range(1, 35), result.Ordered);
        Assert.Empty(page.PageErrors);
    }
}
