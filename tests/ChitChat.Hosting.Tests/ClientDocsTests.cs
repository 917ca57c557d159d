using System.Text.RegularExpressions;
using ChitChat.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChitChat.Hosting.Tests;

/// <summary>
/// docs/clients.md's .NET example, exactly as written: a console project outside the repository (its own settings, warnings
/// as errors) referencing the SDK's assemblies as a package would put them there, built, then run against a real server.
/// </summary>
public sealed class ClientDocsTests : IDisposable
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(1);
    private readonly TempDir _dir = new("chitchat-client-docs-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_dotnet_example_of_docs_clients_md_builds_and_chats_with_a_real_server()
    {
        var program = Repository.CodeBlocks(Repository.MarkdownSection("docs/clients.md", ".NET"), "csharp");
        Assert.True(program.Count == 1, $"docs/clients.md's .NET section should have exactly one csharp block, it has {program.Count}");

        // The SDK's assemblies, next to this test, stand in for the ChitChat.Client package (and its ChitChat.Contracts).
        var sdk = AppContext.BaseDirectory;
        File.WriteAllText(Path.Combine(_dir.Path, "Directory.Build.props"), "<Project />");
        File.WriteAllText(Path.Combine(_dir.Path, "Directory.Build.targets"), "<Project />");
        File.WriteAllText(Path.Combine(_dir.Path, "Directory.Packages.props"), "<Project><PropertyGroup><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup></Project>");
        File.WriteAllText(Path.Combine(_dir.Path, "Example.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <Reference Include="ChitChat.Client" HintPath="{Path.Combine(sdk, "ChitChat.Client.dll")}" />
                <Reference Include="ChitChat.Contracts" HintPath="{Path.Combine(sdk, "ChitChat.Contracts.dll")}" />
                <PackageReference Include="Microsoft.AspNetCore.SignalR.Client" Version="{Repository.PinnedVersion("Microsoft.AspNetCore.SignalR.Client")}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(_dir.Path, "Program.cs"), program[0]);
        await ProcessRunner.RunAsync(ProcessRunner.Dotnet(_dir.Path, "build", "-c", "Release", "-nologo", "-o", Path.Combine(_dir.Path, "out")), "build the docs example", BuildTimeout);

        var builder = LoopbackHost.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.AddChitChat().AddAspNetCore();
        await using var server = builder.Build();
        server.UseChitChat();
        server.MapChitChat();
        var address = await LoopbackHost.StartAsync(server);
        var userName = "doc" + Guid.NewGuid().ToString("N")[..8];
        var run = ProcessRunner.Dotnet(_dir.Path, Path.Combine(_dir.Path, "out", "Example.dll"));
        run.Environment["CHITCHAT_URL"] = address.ToString();
        run.Environment["CHITCHAT_USER"] = userName;
        var output = await ProcessRunner.RunAsync(run, "run the docs example against the server", RunTimeout);

        Assert.Matches(new Regex($@"#\d+ {userName}: hello from {userName}"), output);
        Assert.Contains("refused: room_not_found", output, StringComparison.Ordinal);
    }
}
