using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ChitChat.Core.Tests;

public sealed class HostingTests
{
    private static IHost BuildHost(Dictionary<string, string?> settings, Action<ChitChatOptions>? configure = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddLogging();
        builder.Services.AddChitChat(configure);
        return builder.Build();
    }

    [Fact]
    public async Task Starting_the_host_creates_the_default_room()
    {
        using var host = BuildHost([]);
        var rooms = host.Services.GetRequiredService<RoomService>();
        Assert.Empty(await rooms.ListAsync().Timed());

        await host.StartAsync().Timed();
        try
        {
            var room = Assert.Single(await rooms.ListAsync().Timed());
            Assert.Equal("global", room.Name);
            Assert.Null(room.CreatedBy);
        }
        finally
        {
            await host.StopAsync().Timed();
        }
    }

    [Fact]
    public async Task Starting_the_host_creates_the_configured_default_room()
    {
        using var host = BuildHost(new() { ["ChitChat:DefaultRoom"] = "lobby" });

        await host.StartAsync().Timed();
        try
        {
            var rooms = host.Services.GetRequiredService<RoomService>();
            Assert.Equal(["lobby"], (await rooms.ListAsync().Timed()).Select(r => r.Name));
        }
        finally
        {
            await host.StopAsync().Timed();
        }
    }

    [Theory]
    [InlineData("ChitChat:MaxMessageLength", "0", "MaxMessageLength")]
    [InlineData("ChitChat:SendRateLimit", "-1", "SendRateLimit")]
    [InlineData("ChitChat:DefaultRoom", "Not A Slug", "DefaultRoom")]
    [InlineData("ChitChat:PasswordHashIterations", "0", "PasswordHashIterations")]
    [InlineData("ChitChat:SendRateWindow", "00:00:00", "SendRateWindow")]
    public async Task A_host_with_an_out_of_range_option_fails_to_start_naming_the_key(string key, string value, string name)
    {
        using var host = BuildHost(new() { [key] = value });

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync()).Timed();

        Assert.Contains(name, ex.Message, StringComparison.Ordinal);
        Assert.Empty(await host.Services.GetRequiredService<ChitChat.Storage.IChatStore>().Rooms.ListAsync().Timed());
    }

    [Theory]
    [InlineData("MinUserNameLength", "40", "MaxUserNameLength", "20")]
    [InlineData("MinPasswordLength", "100", "MaxPasswordLength", "50")]
    [InlineData("DefaultHistoryPageSize", "100", "MaxHistoryPageSize", "50")]
    public async Task A_host_with_inconsistent_options_fails_to_start_naming_both_keys(string minKey, string min, string maxKey, string max)
    {
        using var host = BuildHost(new() { ["ChitChat:" + minKey] = min, ["ChitChat:" + maxKey] = max });

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync()).Timed();

        Assert.Contains("ChitChat:" + minKey, ex.Message, StringComparison.Ordinal);
        Assert.Contains("ChitChat:" + maxKey, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_set_in_code_are_validated_too()
    {
        using var host = BuildHost([], o => o.MaxMessageLength = 0);

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync()).Timed();

        Assert.Contains("MaxMessageLength", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_checks_report_store_and_transport_healthy()
    {
        using var host = BuildHost([]);
        await host.StartAsync().Timed();
        try
        {
            var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync().Timed();

            Assert.Equal(HealthStatus.Healthy, report.Status);
            Assert.Equal(["store", "transport"], report.Entries.Keys.Order(StringComparer.Ordinal));
        }
        finally
        {
            await host.StopAsync().Timed();
        }
    }
}
