using System.Net;
using ChitChat.Client.Internal;
using ChitChat.Client.Tests.Infrastructure;
using ChitChat.Contracts;
using Microsoft.AspNetCore.SignalR;

namespace ChitChat.Client.Tests;

/// <summary>Server errors reach the application as <see cref="ChitChatException"/> with parsed fields.</summary>
public sealed class ErrorTests
{
    [Fact]
    public async Task Unknown_rooms_are_room_not_found_over_the_hub_and_over_HTTP()
    {
        await using var server = await ServerHost.StartAsync();
        await using var alice = await server.ConnectAsync("alice");

        var join = await Assert.ThrowsAsync<ChitChatException>(() => alice.JoinRoomAsync("no-such-room").WaitAsync(Wait.Timeout));
        Assert.Equal(ChatErrorCodes.RoomNotFound, join.Code);
        Assert.Null(join.StatusCode);
        Assert.Empty(alice.Rooms);

        var history = await Assert.ThrowsAsync<ChitChatException>(() => alice.GetHistoryAsync("no-such-room").WaitAsync(Wait.Timeout));
        Assert.Equal((ChatErrorCodes.RoomNotFound, HttpStatusCode.NotFound), (history.Code, history.StatusCode));

        var send = await Assert.ThrowsAsync<ChitChatException>(() => alice.SendAsync("no-such-room", "hello?").WaitAsync(Wait.Timeout));
        Assert.Equal(ChatErrorCodes.RoomNotFound, send.Code);
        Assert.Empty(alice.Outbox);
    }

    [Fact]
    public async Task Validation_errors_carry_the_fields_and_refused_sends_leave_the_outbox()
    {
        await using var server = await ServerHost.StartAsync();
        await using var anonymous = new ChitChatClient(new ChitChatClientOptions { Server = server.Address });
        var register = await Assert.ThrowsAsync<ChitChatException>(() => anonymous.RegisterAsync(ServerHost.UniqueName("v"), "short").WaitAsync(Wait.Timeout));
        Assert.Equal((ChatErrorCodes.ValidationFailed, HttpStatusCode.BadRequest), (register.Code, register.StatusCode));
        Assert.True(register.Errors.ContainsKey("password"), string.Join(", ", register.Errors.Keys));
        Assert.NotEmpty(register.Errors["password"]);

        var login = await Assert.ThrowsAsync<ChitChatException>(() => anonymous.LoginAsync("nobody-here", "password-123").WaitAsync(Wait.Timeout));
        Assert.Equal((ChatErrorCodes.InvalidCredentials, HttpStatusCode.Unauthorized), (login.Code, login.StatusCode));

        await using var alice = await server.ConnectAsync("alice");
        var tooLong = await Assert.ThrowsAsync<ChitChatException>(() => alice.SendAsync("global", new string('x', 5000)).WaitAsync(Wait.Timeout));
        Assert.Equal(ChatErrorCodes.PayloadTooLarge, tooLong.Code);
        var empty = await Assert.ThrowsAsync<ChitChatException>(() => alice.SendAsync("global", "   ").WaitAsync(Wait.Timeout));
        Assert.Equal(ChatErrorCodes.ValidationFailed, empty.Code);
        Assert.Empty(alice.Outbox);
    }

    [Fact]
    public async Task Rate_limited_sends_fail_with_a_retry_delay_and_leave_the_outbox()
    {
        await using var server = await ServerHost.StartAsync(new Dictionary<string, string?>
        {
            ["ChitChat:SendRateLimit"] = "2",
            ["ChitChat:SendRateWindow"] = "00:00:30",
        });
        await using var alice = await server.ConnectAsync("alice");
        await Wait.For(alice.SendAsync("global", "one"), "first send");
        await Wait.For(alice.SendAsync("global", "two"), "second send");
        var error = await Assert.ThrowsAsync<ChitChatException>(() => alice.SendAsync("global", "three").WaitAsync(Wait.Timeout));
        Assert.Equal(ChatErrorCodes.RateLimited, error.Code);
        Assert.True(error.IsTransient);
        Assert.NotNull(error.RetryAfter); // the server's delay ([retryAfterMs=N] of the hub error)
        Assert.InRange(error.RetryAfter.Value, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(30));
        Assert.DoesNotContain("retryAfterMs", error.Message, StringComparison.Ordinal);
        Assert.Empty(alice.Outbox);
    }

    [Theory]
    [InlineData("An unexpected error occurred invoking 'SendMessage' on the server. HubException: rate_limited: at most 20 messages per 10 seconds", "rate_limited", "at most 20 messages per 10 seconds")]
    [InlineData("room_not_found: The room 'x' does not exist.", "room_not_found", "The room 'x' does not exist.")]
    [InlineData("An unexpected error occurred invoking 'JoinRoom' on the server.", "hub_error", "An unexpected error occurred invoking 'JoinRoom' on the server.")]
    public void Hub_error_messages_are_split_into_code_and_text(string message, string code, string text) =>
        Assert.Equal((code, text), HubErrors.Split(message));

    [Fact]
    public void The_hubs_retry_delay_is_read_from_the_message_and_left_out_of_the_text()
    {
        var limited = HubErrors.Parse(new HubException("An unexpected error occurred invoking 'SendMessage' on the server. HubException: rate_limited: at most 20 messages per 10 seconds [retryAfterMs=3250]"), retryAfter: TimeSpan.FromSeconds(10));
        Assert.Equal(("rate_limited", "at most 20 messages per 10 seconds", TimeSpan.FromMilliseconds(3250)), (limited.Code, limited.Message, limited.RetryAfter));
        var unavailable = HubErrors.Parse(new HubException("HubException: unavailable: The store is down. [retryAfterMs=5000]"));
        Assert.Equal(("unavailable", TimeSpan.FromSeconds(5)), (unavailable.Code, unavailable.RetryAfter));
        var old = HubErrors.Parse(new HubException("HubException: rate_limited: at most 20 messages per 10 seconds"), retryAfter: TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromSeconds(10), old.RetryAfter); // a server without the suffix: the window from GET /api/limits
    }

    [Fact]
    public void Options_are_validated_with_the_name_of_the_option()
    {
        Assert.Contains("Server", Assert.Throws<ArgumentException>(() => new ChitChatClient(new ChitChatClientOptions())).Message, StringComparison.Ordinal);
        Assert.Contains("http", Assert.Throws<ArgumentException>(() => new ChitChatClient(new ChitChatClientOptions { Server = new Uri("ftp://127.0.0.1/") })).Message, StringComparison.Ordinal);
        Assert.Contains("not both", Assert.Throws<ArgumentException>(() => new ChitChatClient(new ChitChatClientOptions
        {
            Server = new Uri("http://127.0.0.1/"),
            UserName = "a",
            Password = "b",
            AccessTokenProvider = _ => ValueTask.FromResult("t"),
        })).Message, StringComparison.Ordinal);
        Assert.Equal("Password", Assert.Throws<ArgumentException>(() => new ChitChatClient(new ChitChatClientOptions { Server = new Uri("http://127.0.0.1/"), UserName = "a" })).ParamName);
        Assert.Equal("RetryDelay", Assert.Throws<ArgumentException>(() => new ChitChatClient(new ChitChatClientOptions { Server = new Uri("http://127.0.0.1/"), RetryDelay = TimeSpan.Zero })).ParamName);
        Assert.Equal("HistoryPageSize", Assert.Throws<ArgumentException>(() => new ChitChatClient(new ChitChatClientOptions { Server = new Uri("http://127.0.0.1/"), HistoryPageSize = 501 })).ParamName);
    }
}
