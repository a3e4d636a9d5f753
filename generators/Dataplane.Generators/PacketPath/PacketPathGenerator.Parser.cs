using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Dataplane.Generators.PacketPath;

public sealed partial class PacketPathGenerator
{
    /// <summary>Turns a <c>[PacketPath]</c> declaration into a <see cref="PathModel"/>.</summary>
    internal static class Parser
    {
        private const string QueuePair = "Dataplane.Ports.IQueuePair";

        public static ParseResult Parse(GeneratorAttributeSyntaxContext ctx, CancellationToken ct)
        {
            var type = (INamedTypeSymbol)ctx.TargetSymbol;
            var syntax = (TypeDeclarationSyntax)ctx.TargetNode;
            var diagnostics = ImmutableArray.CreateBuilder<DiagnosticInfo>();
            LocationInfo? location = LocationInfo.From(syntax.Identifier.GetLocation());
            AttributeData attribute = ctx.Attributes[0];
            ct.ThrowIfCancellationRequested();

            if (Shape(type) is { } wrong)
                diagnostics.Add(Diag("DPP001", location, type.Name, wrong));
            else if (!type.AllInterfaces.Any(static i => i.ToDisplayString() == QueuePair))
                diagnostics.Add(Diag("DPP002", location, type.Name));

            string driver = attribute.ConstructorArguments.Length > 0 && attribute.ConstructorArguments[0].Value is string s ? s : "";
            DriverDeclaration? declaration = null;
            if (IsDriverName(driver))
                declaration = new DriverDeclaration(driver, type.Name, location);
            else
                diagnostics.Add(Diag("DPP003", location, driver));

            Report checksum = Fact(attribute, "Checksum", type.Name, location, diagnostics);
            Report rssHash = Fact(attribute, "RssHash", type.Name, location, diagnostics);
            Report lro = Fact(attribute, "Lro", type.Name, location, diagnostics);
            if (lro == Report.EveryFrame)
                diagnostics.Add(Diag("DPP005", location, type.Name, "Lro cannot be EveryFrame: what merges depends on the traffic, so it is PerFrame or Never"));

            if (diagnostics.Count > 0)
                return new ParseResult(null, declaration, diagnostics.ToImmutable());
            string ns = type.ContainingNamespace.IsGlobalNamespace ? "" : type.ContainingNamespace.ToDisplayString();
            var model = new PathModel(ns, type.Name, driver, checksum, rssHash, lro);
            return new ParseResult(model, declaration, ImmutableArray<DiagnosticInfo>.Empty);
        }

        /// <summary>What is wrong with the type's shape for a packet path, or null when nothing is.</summary>
        private static string? Shape(INamedTypeSymbol type)
        {
            if (type.TypeKind != TypeKind.Struct)
            {
                return type.TypeKind switch
                {
                    TypeKind.Class => type.IsRecord ? "a record class" : "a class",
                    TypeKind.Interface => "an interface",
                    _ => "not a struct",
                };
            }
            if (type.IsRefLikeType)
                return "a ref struct";
            if (type.ContainingType is not null)
                return "nested in '" + type.ContainingType.Name + "'";
            if (type.IsGenericType)
                return "generic";
            return null;
        }

        /// <summary>A config keyword: lower-case letters and digits, a letter first (memory, tap, afpacket, ixgbe).</summary>
        private static bool IsDriverName(string name)
        {
            if (name.Length == 0 || name[0] is < 'a' or > 'z')
                return false;
            foreach (char c in name)
            {
                if (c is not (>= 'a' and <= 'z') and not (>= '0' and <= '9'))
                    return false;
            }
            return true;
        }

        private static Report Fact(AttributeData a, string name, string typeName, LocationInfo? location, ImmutableArray<DiagnosticInfo>.Builder diagnostics)
        {
            foreach (KeyValuePair<string, TypedConstant> arg in a.NamedArguments)
            {
                if (arg.Key != name || arg.Value.Value is not int value)
                    continue;
                if (value is < (int)Report.PerFrame or > (int)Report.EveryFrame)
                {
                    diagnostics.Add(Diag("DPP005", location, typeName, $"{name} = {value} is not an OffloadReport (PerFrame, Never or EveryFrame)"));
                    return Report.PerFrame;
                }
                return (Report)value;
            }
            return Report.PerFrame; // the default promises nothing
        }

        private static DiagnosticInfo Diag(string id, LocationInfo? location, params string[] args)
            => new(id, location, ImmutableArray.Create(args));
    }
}
