using Microsoft.Extensions.DependencyInjection;

namespace ChitChat;

/// <summary>Configures ChitChat. Returned by <c>services.AddChitChat(...)</c>; providers add <c>Use*</c>/<c>Add*</c> extensions to it.</summary>
public interface IChitChatBuilder
{
    /// <summary>Gets the service collection.</summary>
    IServiceCollection Services { get; }
}

internal sealed class ChitChatBuilder(IServiceCollection services) : IChitChatBuilder
{
    public IServiceCollection Services { get; } = services;
}
