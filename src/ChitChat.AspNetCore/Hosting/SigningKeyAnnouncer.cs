using ChitChat.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat.AspNetCore.Hosting;

/// <summary>
/// Creates the signing key at start-up, so that a generated Development key is announced (warning) before the first
/// request, and announces the external issuer when one is configured.
/// </summary>
internal sealed class SigningKeyAnnouncer(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        services.GetRequiredService<SigningKeyProvider>();
        var auth = services.GetRequiredService<IOptions<ChitChatAspNetCoreOptions>>().Value.Auth;
        if (!string.IsNullOrEmpty(auth.Authority))
        {
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(BearerAuthentication).FullName!);
            BearerAuthentication.LogExternalIssuerConfigured(logger, auth.Authority, auth.Audience, auth.UserIdClaim, auth.UserNameClaim);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
