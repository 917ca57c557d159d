using ChitChat.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ChitChat.AspNetCore.Hosting;

/// <summary>Creates the signing key at start-up, so that a generated Development key is announced (warning) before the first request.</summary>
internal sealed class SigningKeyAnnouncer(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        services.GetRequiredService<SigningKeyProvider>();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
