; Inno Setup 6 script: installs the PyInstaller bundle of Interview Kiosk on Windows.
;
; NOT built or tested by this repository's CI (it has no Windows machine): see
; docs/deployment.md. Build on Windows x64 with Python 3.11 and Inno Setup 6.3 or newer,
; from the repository root:
;
;   py -3.11 -m venv .venv
;   .venv\Scripts\pip install -c requirements.lock -e .[dev,postgres]
;   .venv\Scripts\pyinstaller --noconfirm --clean --distpath dist --workpath build\pyinstaller packaging\interview-kiosk.spec
;   iscc packaging\windows\interview-kiosk.iss
;
; -> dist\interview-kiosk-<version>-setup.exe. Silent install for IT:
;   interview-kiosk-<version>-setup.exe /VERYSILENT /SUPPRESSMSGBOXES /NORESTART
; A C:\ProgramData\interview-kiosk\kiosk.toml written before the install is kept. Check the
; installation from a console: "C:\Program Files\Interview Kiosk\interview-kiosk-console.exe" --self-test

#define BundleDir AddBackslash(SourcePath) + "..\..\dist\interview-kiosk"
#define KioskExe BundleDir + "\interview-kiosk.exe"
#if !FileExists(KioskExe)
  #error Build the bundle first (packaging\interview-kiosk.spec): dist\interview-kiosk\interview-kiosk.exe is missing
#endif
; One version: the spec writes pyproject.toml's version into the executable's resources.
#define AppVersion GetVersionNumbersString(KioskExe)

[Setup]
; Never change AppId: Windows recognises upgrades by it.
AppId={{5C1C8E52-7A3B-4E0B-9E59-2F6C1D7A4B10}
AppName=Interview Kiosk
AppVersion={#AppVersion}
AppPublisher=Interview Kiosk
DefaultDirName={autopf}\Interview Kiosk
DefaultGroupName=Interview Kiosk
DisableProgramGroupPage=yes
DisableDirPage=auto
; The bundle is 64-bit only.
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequired=admin
; IK_KIOSK_CONFIG is set machine-wide: tell running programs the environment changed.
ChangesEnvironment=yes
OutputDir={#SourcePath}..\..\dist
OutputBaseFilename=interview-kiosk-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
UninstallDisplayIcon={app}\interview-kiosk.exe
; A kiosk may be running during an upgrade: close it, and do not restart it afterwards.
CloseApplications=force
RestartApplications=no

[Files]
; The whole onedir bundle: interview-kiosk.exe (the kiosk, no console window),
; interview-kiosk-console.exe (the same, for --self-test and hash-pin in a console),
; interview-backend.exe (the backend's commands) and _internal\.
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
; The commented example configuration, only if IT has not put one there already; never
; removed on uninstall (like the .deb's conffile).
Source: "{#SourcePath}..\..\resources\kiosk.toml"; DestDir: "{commonappdata}\interview-kiosk"; \
  Flags: onlyifdoesntexist uninsneverinstall

[Registry]
; Windows has no /etc: point the kiosk at the machine-wide file (kiosk/core/config.py reads
; IK_KIOSK_CONFIG). Removed on uninstall.
Root: HKLM; Subkey: "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"; \
  ValueType: string; ValueName: "IK_KIOSK_CONFIG"; \
  ValueData: "{commonappdata}\interview-kiosk\kiosk.toml"; Flags: uninsdeletevalue

[Icons]
Name: "{autoprograms}\Interview Kiosk"; Filename: "{app}\interview-kiosk.exe"

