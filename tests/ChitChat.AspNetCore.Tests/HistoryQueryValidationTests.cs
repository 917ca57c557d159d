using ChitChat.Contracts;
using System.Net.Http.Json;
using ChitChat.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace ChitChat.AspNetCore.Tests;

/// <summary>
/// The ranges of a history query are checked in one place, the history service: the HTTP API only parses the query
/// string, so it and the hub's GetHistory reject the same values with the same message.
/// </summary>
public sealed class HistoryQueryValidationTests(SharedServer shared)
{
    private ChitChatServer Server => shared.Server;

    [Theory]
    [InlineData("limit=0", "limit", null, null, 0, "limit must be at least 1.")]
    [InlineData("limit=-3", "limit", null, null, -3, "limit must be at least 1.")]
    [InlineData("before=0", "before", 0L, null, null, "before must be at least 1.")]
    [InlineData("after=-1", "after", null, -1L, null, "after must not be negative.")]
    public async Task The_HTTP_API_and_the_hub_reject_a_history_range_with_the_services_message(string query, string field, long? before, long? after, int? limit, string message)
    {
        var user = await Server.NewUserAsync();
        var room = await Server.NewRoomAsync(user);
        using var http = user.Http();
        await using var hub = await user.ConnectAsync();

        using var response = await http.GetAsync($"/api/rooms/{room}/messages?{query}").WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(response, 400, "validation_failed");
        var problem = await Problem.ReadAsync(response);
        Assert.Equal([message], problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(e => e.GetString()));

        var error = await Assert.ThrowsAsync<HubException>(() => hub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", room, before, after, limit).WaitAsync(Timeouts.Default));
        Assert.Equal("validation_failed", HubError.Code(error));
        Assert.Equal($"validation_failed: {message}", HubError.Message(error));
    }

    [Fact]
    public async Task A_query_value_that_is_not_a_number_is_rejected_by_the_HTTP_API_naming_each_field()
    {
        var user = await Server.NewUserAsync();
        var room = await Server.NewRoomAsync(user);
        using var http = user.Http();

        using var response = await http.GetAsync($"/api/rooms/{room}/messages?limit=abc&before=1.5&after=7").WaitAsync(Timeouts.Default);

        await Problem.AssertAsync(response, 400, "validation_failed");
        var errors = (await Problem.ReadAsync(response)).GetProperty("errors");
        Assert.Equal(["before", "limit"], errors.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
    }
}
