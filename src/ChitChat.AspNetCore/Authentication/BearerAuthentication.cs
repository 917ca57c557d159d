using System.Security.Claims;
using ChitChat.Accounts;
using ChitChat.AspNetCore.Hosting;
using ChitChat.AspNetCore.Http;
using ChitChat.Contracts;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ChitChat.AspNetCore.Authentication;

/// <summary>
/// What ChitChat's two bearer schemes share: where the token is read from, which scheme a token belongs to, the problem
/// responses, and (external scheme) the mapping of a validated external identity to its ChitChat user.
/// </summary>
internal static partial class BearerAuthentication
{
    private static readonly JsonWebTokenHandler Reader = new();

    /// <summary>Reads the bearer token: the <c>Authorization</c> header, or for the hub only the <c>access_token</c> query string.</summary>
    public static string? ReadToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = header["Bearer ".Length..].Trim();
            return token.Length == 0 ? null : token;
        }

        // Browsers cannot set headers on WebSockets/SSE: accept the token from the query string, for the hub only.
        if (request.Path.StartsWithSegments(ChitChatEndpointDefaults.HubPath, StringComparison.OrdinalIgnoreCase)
            && request.Query.TryGetValue("access_token", out var query) && !string.IsNullOrEmpty(query.ToString()))
        {
            return query.ToString();
        }

        return null;
    }

    /// <summary>
    /// The scheme that validates this request's token: the external scheme when an external issuer is configured and the
    /// token's (unvalidated) <c>iss</c> is not ChitChat's own; otherwise <see langword="null"/> (ChitChat's own scheme).
    /// The choice only routes the token: the chosen scheme validates issuer, audience, lifetime and signature.
    /// </summary>
    public static string? SelectScheme(HttpContext context, ChitChatAuthOptions auth)
    {
        if (string.IsNullOrEmpty(auth.Authority))
        {
            return null;
        }

        var token = ReadToken(context.Request);
        if (token is null || !Reader.CanReadToken(token))
        {
            return null;
        }

        try
        {
            var issuer = Reader.ReadJsonWebToken(token).Issuer;
            return string.IsNullOrEmpty(issuer) || string.Equals(issuer, auth.Issuer, StringComparison.Ordinal)
                ? null
                : ChitChatAuthenticationDefaults.ExternalAuthenticationScheme;
        }
        catch (ArgumentException)
        {
            // Not a readable JWT: ChitChat's own scheme refuses it.
            return null;
        }
    }

    /// <summary>The events of both schemes; the external one also maps the identity to its ChitChat user.</summary>
    public static JwtBearerEvents CreateEvents(ChitChatAuthOptions auth, bool external)
    {
        var events = new JwtBearerEvents
        {
            OnMessageReceived = context =>
            {
                context.Token ??= ReadToken(context.Request);
                return Task.CompletedTask;
            },
            OnChallenge = async context =>
            {
                context.HandleResponse();
                var error = context.AuthenticateFailure switch
                {
                    ChatException chat => chat,
                    SecurityTokenExpiredException => new ChatException(ChatErrorCodes.Unauthorized, "The access token has expired; log in again."),
                    _ => new ChatException(ChatErrorCodes.Unauthorized, "A valid bearer token is required."),
                };
                if (ChatProblems.StatusFor(error.Code) == StatusCodes.Status401Unauthorized)
                {
                    context.Response.Headers.WWWAuthenticate = "Bearer";
                }

                await ChatProblems.WriteAsync(context.HttpContext, error).ConfigureAwait(false);
            },
            OnForbidden = context =>
                ChatProblems.WriteAsync(context.HttpContext, new ChatException(ChatErrorCodes.Forbidden, "The request is not allowed.")),
        };
        if (external)
        {
            events.OnTokenValidated = context => MapExternalIdentityAsync(context, auth);
        }

        return events;
    }

    /// <summary>
    /// Replaces the validated external principal by ChitChat's identity (<c>sub</c> = ChitChat user id, <c>name</c> = user
    /// name) of the user that <see cref="AccountService.SignInExternalAsync"/> maps it to, so that everything downstream
    /// (hub, API, <see cref="ChatClaims"/>) works unchanged. A refusal fails authentication with its ChitChat error.
    /// </summary>
    private static async Task MapExternalIdentityAsync(TokenValidatedContext context, ChitChatAuthOptions auth)
    {
        var logger = context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(BearerAuthentication).FullName!);
        var issuer = context.SecurityToken?.Issuer ?? string.Empty;
        var subject = context.Principal?.FindFirst(auth.UserIdClaim)?.Value;
        if (string.IsNullOrEmpty(subject))
        {
            LogExternalTokenRefused(logger, ChatErrorCodes.Unauthorized, $"no '{auth.UserIdClaim}' claim");
            context.Fail(new ChatException(ChatErrorCodes.Unauthorized, $"The token has no '{auth.UserIdClaim}' claim (ChitChat:Auth:UserIdClaim)."));
            return;
        }

        ChatUser user;
        try
        {
            var accounts = context.HttpContext.RequestServices.GetRequiredService<AccountService>();
            user = await accounts.SignInExternalAsync(issuer, subject, context.Principal?.FindFirst(auth.UserNameClaim)?.Value, context.HttpContext.RequestAborted).ConfigureAwait(false);
        }
        catch (ChatException ex)
        {
            LogExternalTokenRefused(logger, ex.Code, ex.Message);
            context.Fail(ex);
            return;
        }

        var identity = new ClaimsIdentity(
            [
                new Claim(ChitChatAuthenticationDefaults.UserIdClaim, user.Id.ToString("D")),
                new Claim(ChitChatAuthenticationDefaults.UserNameClaim, user.UserName),
                new Claim(JwtRegisteredClaimNames.Iss, issuer),
            ],
            ChitChatAuthenticationDefaults.ExternalAuthenticationScheme,
            ChitChatAuthenticationDefaults.UserNameClaim,
            "role");
        context.Principal = new ClaimsPrincipal(identity);
    }

    [LoggerMessage(EventId = 6002, EventName = "ExternalTokenRefused", Level = LogLevel.Information,
        Message = "A valid token of the external issuer was refused ({Code}): {Reason}")]
    private static partial void LogExternalTokenRefused(ILogger logger, string code, string reason);

    [LoggerMessage(EventId = 6003, EventName = "ExternalIssuerConfigured", Level = LogLevel.Information,
        Message = "Accepting bearer tokens of the external OpenID Connect issuer {Authority} (audience {Audience}, user id claim {UserIdClaim}, user name claim {UserNameClaim}) beside ChitChat's own.")]
    public static partial void LogExternalIssuerConfigured(ILogger logger, string authority, string audience, string userIdClaim, string userNameClaim);
}
