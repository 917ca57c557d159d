using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ChitChat.AspNetCore.Tests.Infrastructure;
using ChitChat.Contracts;

namespace ChitChat.AspNetCore.Tests;

public sealed class HttpApiTests(SharedServer shared)
{
    private ChitChatServer Server => shared.Server;

    [Fact]
    public async Task Rooms_are_created_listed_and_unique_ignoring_case()
    {
        var user = await Server.NewUserAsync();
        using var http = user.Http();
        var name = "Room-" + Guid.NewGuid().ToString("N")[..8];
        using var created = await http.PostAsJsonAsync("/api/rooms", new { name }).WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var room = await created.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(Timeouts.Default);
        Assert.Equal(name.ToLowerInvariant(), room.GetProperty("name").GetString());
        Assert.NotEqual(Guid.Empty, room.GetProperty("id").GetGuid());
        Assert.True(room.TryGetProperty("createdAt", out _));

        using var duplicate = await http.PostAsJsonAsync("/api/rooms", new { name = name.ToUpperInvariant() }).WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(duplicate, 409, "room_exists");

        var rooms = await http.GetFromJsonAsync<JsonElement[]>("/api/rooms").WaitAsync(Timeouts.Default);
        Assert.Contains(rooms!, r => r.GetProperty("name").GetString() == "global");
        Assert.Contains(rooms!, r => r.GetProperty("name").GetString() == name.ToLowerInvariant());
    }

    [Fact]
    public async Task Limits_are_served_anonymously_from_the_configured_options()
    {
        await using var server = ChitChatServer.Start(new Dictionary<string, string?>
        {
            ["ChitChat:MaxMessageLength"] = "1234",
            ["ChitChat:SendRateWindow"] = "00:00:03",
            ["ChitChat:TypingExpiry"] = "00:00:07",
            ["ChitChat:Hub:MaxRoomsPerConnection"] = "9",
        });
        using var http = server.Http();
        var limits = await http.GetFromJsonAsync<ServerLimits>(ChitChatRoutes.Limits, ChitChatServer.Json).WaitAsync(Timeouts.Default);
        Assert.NotNull(limits);
        Assert.Equal((1234, 3000L, 7000L, 9), (limits.MaxMessageLength, limits.SendRateWindowMs, limits.TypingExpiryMs, limits.MaxRoomsPerConnection));
        Assert.Equal((500, 32 * 1024L), (limits.MaxHistoryPageSize, limits.MaxHubMessageSize));
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("dots.not.allowed")]
    [InlineData("")]
    [InlineData("this-name-is-far-too-long-for-a-room-because-it-has-more-than-sixty-four-chars")]
    public async Task Bad_room_names_are_validation_failed(string name)
    {
        var user = await Server.NewUserAsync();
        using var http = user.Http();
        using var response = await http.PostAsJsonAsync("/api/rooms", new { name }).WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(response, 400, "validation_failed");
        var problem = await Problem.ReadAsync(response);
        Assert.True(problem.GetProperty("errors").TryGetProperty("name", out _));
    }

    [Fact]
    public async Task Messages_post_is_idempotent_201_then_200_with_one_message_stored()
    {
        var user = await Server.NewUserAsync();
        var room = await Server.NewRoomAsync(user);
        using var http = user.Http();
        using var first = await http.PostAsJsonAsync($"/api/rooms/{room}/messages", new { text = "hello", clientMessageId = "http-1" }).WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var original = await first.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(Timeouts.Default);
        Assert.Equal(1, original.GetProperty("seq").GetInt64());
        Assert.Equal(user.Id, original.GetProperty("authorId").GetGuid());
        Assert.Equal(user.UserName, original.GetProperty("authorName").GetString());
        Assert.Equal(room, original.GetProperty("room").GetString());
        Assert.Equal("http-1", original.GetProperty("clientMessageId").GetString());
        Assert.EndsWith("Z", original.GetProperty("sentAt").GetString(), StringComparison.Ordinal);

        using var retry = await http.PostAsJsonAsync($"/api/rooms/{room}/messages", new { text = "hello", clientMessageId = "http-1" }).WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        var repeated = await retry.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(Timeouts.Default);
        Assert.Equal(original.GetProperty("id").GetGuid(), repeated.GetProperty("id").GetGuid());

        var all = await http.GetFromJsonAsync<JsonElement[]>($"/api/rooms/{room}/messages").WaitAsync(Timeouts.Default);
        Assert.Single(all!);
    }

    [Fact]
    public async Task Authors_come_from_the_token_never_from_the_body()
    {
        var user = await Server.NewUserAsync();
        var room = await Server.NewRoomAsync(user);
        using var http = user.Http();
        using var response = await http.PostAsJsonAsync($"/api/rooms/{room}/messages", new { text = "spoof", authorId = Guid.NewGuid(), authorName = "admin" }).WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var message = await response.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(Timeouts.Default);
        Assert.Equal(user.Id, message.GetProperty("authorId").GetGuid());
        Assert.Equal(user.UserName, message.GetProperty("authorName").GetString());
    }

    [Fact]
    public async Task History_pages_with_limit_before_and_after()
    {
        var user = await Server.NewUserAsync();
        var room = await Server.NewRoomAsync(user);
        using var http = user.Http();
        for (var i = 1; i <= 12; i++)
        {
            using var sent = await http.PostAsJsonAsync($"/api/rooms/{room}/messages", new { text = $"m{i}" }).WaitAsync(Timeouts.Default);
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        }

        async Task<long[]> Seqs(string query) =>
            (await http.GetFromJsonAsync<JsonElement[]>($"/api/rooms/{room}/messages{query}").WaitAsync(Timeouts.Default))!.Select(m => m.GetProperty("seq").GetInt64()).ToArray();

        Assert.Equal(Enumerable.Range(1, 12).Select(i => (long)i), await Seqs(""));
        Assert.Equal(new long[] { 8L, 9, 10, 11, 12 }, await Seqs("?limit=5"));
        Assert.Equal(new long[] { 3L, 4, 5, 6, 7 }, await Seqs("?limit=5&before=8"));
        Assert.Equal(new long[] { 1L, 2 }, await Seqs("?limit=5&before=3"));
        Assert.Equal(new long[] { 11L, 12 }, await Seqs("?after=10"));
        Assert.Equal(new long[] { 5L, 6, 7 }, await Seqs("?after=4&limit=3"));
        Assert.Equal(new long[] { 6L, 7 }, await Seqs("?after=5&before=8"));
        Assert.Empty(await Seqs("?after=12"));

        using var badLimit = await http.GetAsync($"/api/rooms/{room}/messages?limit=abc").WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(badLimit, 400, "validation_failed");
        using var zero = await http.GetAsync($"/api/rooms/{room}/messages?limit=0").WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(zero, 400, "validation_failed");
    }

    [Fact]
    public async Task Unknown_room_is_404_room_not_found_and_bad_messages_are_rejected_without_storing()
    {
        var user = await Server.NewUserAsync();
        var room = await Server.NewRoomAsync(user);
        using var http = user.Http();
        using var missingGet = await http.GetAsync("/api/rooms/no-such-room-" + Guid.NewGuid().ToString("N")[..6] + "/messages").WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(missingGet, 404, "room_not_found");
        using var missingPost = await http.PostAsJsonAsync("/api/rooms/no-such-room-x/messages", new { text = "hi" }).WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(missingPost, 404, "room_not_found");

        using var empty = await http.PostAsJsonAsync($"/api/rooms/{room}/messages", new { text = "   " }).WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(empty, 400, "validation_failed");
        using var tooLong = await http.PostAsJsonAsync($"/api/rooms/{room}/messages", new { text = new string('x', 4001) }).WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(tooLong, 413, "payload_too_large");
        using var malformed = await http.PostAsync($"/api/rooms/{room}/messages", new StringContent("{\"text\":", Encoding.UTF8, "application/json")).WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(malformed, 400, "validation_failed");

        var all = await http.GetFromJsonAsync<JsonElement[]>($"/api/rooms/{room}/messages").WaitAsync(Timeouts.Default);
        Assert.Empty(all!);
    }
}
