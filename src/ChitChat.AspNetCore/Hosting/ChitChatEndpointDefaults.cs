namespace ChitChat.AspNetCore;

/// <summary>The paths <c>MapChitChat</c> maps.</summary>
public static class ChitChatEndpointDefaults
{
    /// <summary>The hub path: <c>/hubs/chat</c>.</summary>
    public const string HubPath = Contracts.ChitChatRoutes.Hub;

    /// <summary>The HTTP API prefix: <c>/api</c>.</summary>
    public const string ApiPrefix = "/api";

    /// <summary>The health endpoint: <c>/health</c>.</summary>
    public const string HealthPath = "/health";
}
