@echo off
rem build.cmd: Windows build and test of the portable projects (the generators, the wire formats and
rem their tests). Everything else (the dataplane binary, drivers, namespaces, fuzzing) is Linux only:
rem use ./build.sh on Linux.
setlocal
cd /d "%~dp0"
set DOTNET_NOLOGO=1
set DOTNET_CLI_TELEMETRY_OPTOUT=1

if /i "%~1"=="build" goto build
if /i "%~1"=="test" goto test
echo usage: build.cmd build^|test
echo.
echo   build   dotnet build the portable projects: generators, Dataplane.Wire and their tests
echo   test    build, then run Dataplane.Generators.Tests and Dataplane.Wire.Tests
echo           (tests marked Category=Linux are left out)
echo.
echo The dataplane binary, drivers, integration tests, benchmarks and fuzzing are Linux only: ./build.sh
if "%~1"=="" exit /b 0
exit /b 2

:build
for %%p in (
    generators\Dataplane.Generators\Dataplane.Generators.csproj
    dataplane\Dataplane.Wire\Dataplane.Wire.csproj
    tests\Dataplane.Generators.Tests\Dataplane.Generators.Tests.csproj
    tests\Dataplane.Wire.Tests\Dataplane.Wire.Tests.csproj
) do (
    dotnet build "%%p" -c Release -nodeReuse:false || exit /b 1
)
exit /b 0

:test
call "%~f0" build || exit /b 1
set failed=0
for %%p in (
    tests\Dataplane.Generators.Tests\Dataplane.Generators.Tests.csproj
    tests\Dataplane.Wire.Tests\Dataplane.Wire.Tests.csproj
) do (
    dotnet test "%%p" -c Release --no-build --filter "Category!=Linux" || set failed=1
)
echo.
echo Linux only, not run here: Dataplane.Tests, the dataplane binary, the fuzz smoke (./build.sh test).
exit /b %failed%
