namespace ChitChat.Redis.Tests.Infrastructure;

/// <summary>Polls a condition until it holds, with a generous overall timeout that names the phase.</summary>
internal static class Poll
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(45);

    public static async Task UntilAsync(Func<Task<bool>> condition, string phase, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        using var cts = new CancellationTokenSource(limit);
        while (true)
        {
            if (await condition().WaitAsync(limit))
            {
                return;
            }

            if (cts.IsCancellationRequested)
            {
                Assert.Fail($"Timed out after {limit.TotalSeconds:0} s waiting until {phase}.");
            }

            try
            {
                // The polling interval, not a synchronization: the loop ends on the condition or the overall timeout.
                await Task.Delay(100, cts.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    public static Task UntilAsync(Func<bool> condition, string phase, TimeSpan? timeout = null) =>
        UntilAsync(() => Task.FromResult(condition()), phase, timeout);
}
