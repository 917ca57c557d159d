namespace ChitChat.AspNetCore.Authentication;

/// <summary>Names used by ChitChat's authentication.</summary>
public static class ChitChatAuthenticationDefaults
{
    /// <summary>The JWT bearer authentication scheme ChitChat registers: <c>ChitChat.Bearer</c>.</summary>
    public const string AuthenticationScheme = "ChitChat.Bearer";

    /// <summary>
    /// The JWT bearer scheme of the external OpenID Connect issuer (<c>ChitChat:Auth:Authority</c>):
    /// <c>ChitChat.External</c>. <see cref="AuthenticationScheme"/> forwards to it every token whose (unvalidated)
    /// <c>iss</c> is not ChitChat's own issuer, so the hub and the API accept both.
    /// </summary>
    public const string ExternalAuthenticationScheme = "ChitChat.External";

    /// <summary>The authorization policy that the hub and the API require: <c>ChitChat</c> (an authenticated ChitChat user).</summary>
    public const string AuthorizationPolicy = "ChitChat";

    /// <summary>The claim that holds the user id: <c>sub</c>.</summary>
    public const string UserIdClaim = "sub";

    /// <summary>The claim that holds the user name: <c>name</c>.</summary>
    public const string UserNameClaim = "name";
}
