using ChitChat.Transport;
using ChitChat.Contracts;

namespace ChitChat.Core.Tests;

public sealed class RateLimitTests
{
    // A window of an hour: the test never depends on how fast this machine runs.
    private static void ThreePerHour(ChitChatOptions o) => (o.SendRateLimit, o.SendRateWindow) = (3, TimeSpan.FromHours(1));

    [Fact]
    public async Task The_send_after_the_limit_is_rate_limited_with_retry_after_and_stores_nothing()
    {
        await using var h = await ChatHarness.CreateAsync(ThreePerHour);
        var alice = await h.UserAsync("alice");
        for (var i = 0; i < 3; i++)
        {
            await h.SendAsync(alice, "global", $"m{i}", null).Timed();
        }

        var ex = await Wait.ChatErrorAsync(ChatErrorCodes.RateLimited, () => h.SendAsync(alice, "global", "one too many", "c-4"));

        Assert.NotNull(ex.RetryAfter);
        Assert.True(ex.RetryAfter > TimeSpan.Zero, $"RetryAfter was {ex.RetryAfter}");
        Assert.StartsWith("at most 3 messages per 3600 seconds", ex.Message, StringComparison.Ordinal);
        Assert.Equal(3, await h.LastSeqAsync());
        Assert.Null(await h.Store.Messages.FindByClientMessageIdAsync("global", "c-4").Timed());
        Assert.Equal(3, h.Transport.PublishedOf<MessagePosted>().Count);
    }

    [Fact]
    public async Task The_limit_is_per_user()
    {
        await using var h = await ChatHarness.CreateAsync(ThreePerHour);
        var alice = await h.UserAsync("alice");
        var bob = await h.UserAsync("bob");
        for (var i = 0; i < 3; i++)
        {
            await h.SendAsync(alice, "global", $"m{i}", null).Timed();
        }

        await Wait.ChatErrorAsync(ChatErrorCodes.RateLimited, () => h.SendAsync(alice, "global", "blocked", null));
        var fromBob = await h.SendAsync(bob, "global", "bob is fine", null).Timed();

        Assert.True(fromBob.Created);
        Assert.Equal(4, fromBob.Message.Seq);
    }

    [Fact]
    public async Task Rejected_input_does_not_use_up_the_limit()
    {
        await using var h = await ChatHarness.CreateAsync(ThreePerHour);
        var alice = await h.UserAsync("alice");
        for (var i = 0; i < 5; i++)
        {
            await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => h.SendAsync(alice, "global", " ", null));
            await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => h.SendAsync(alice, "nowhere", "x", null));
        }

        for (var i = 0; i < 3; i++)
        {
            Assert.True((await h.SendAsync(alice, "global", $"m{i}", null).Timed()).Created);
        }
    }

    [Fact]
    public async Task A_retry_of_an_accepted_message_returns_its_ack_even_when_the_limit_is_reached()
    {
        // The ack of the third message was lost; the client retries it. It was accepted, so the retry must get its ack
        // (PROTOCOL: "a retry with the same clientMessageId returns the same ack"), not a rate_limited error.
        await using var h = await ChatHarness.CreateAsync(ThreePerHour);
        var alice = await h.UserAsync("alice");
        await h.SendAsync(alice, "global", "m1", "c-1").Timed();
        await h.SendAsync(alice, "global", "m2", "c-2").Timed();
        var third = await h.SendAsync(alice, "global", "m3", "c-3").Timed();

        var retry = await h.SendAsync(alice, "global", "m3", "c-3").Timed();
        var retryAgain = await h.SendAsync(alice, "global", "m3", "c-3").Timed();

        Assert.False(retry.Created);
        Assert.Equal(third.Message, retry.Message);
        Assert.Equal(third.Message, retryAgain.Message);
        await Wait.ChatErrorAsync(ChatErrorCodes.RateLimited, () => h.SendAsync(alice, "global", "m4", "c-4"));
    }

    [Fact]
    public async Task A_limit_of_zero_disables_rate_limiting()
    {
        await using var h = await ChatHarness.CreateAsync(o => (o.SendRateLimit, o.SendRateWindow) = (0, TimeSpan.FromHours(1)));
        var alice = await h.UserAsync("alice");

        for (var i = 0; i < 50; i++)
        {
            await h.SendAsync(alice, "global", $"m{i}", null).Timed();
        }

        Assert.Equal(50, await h.LastSeqAsync());
    }
}
