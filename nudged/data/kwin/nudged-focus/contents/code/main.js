// nudged-focus: tells nudged which window KWin has activated, and nothing else.
//
// Loaded by nudged at its start through KWin's scripting D-Bus interface (and
// unloaded at its stop). On every activation, and on every caption change of the
// active window (a browser tab switch changes only the caption), it calls nudged's
// object on the session bus with the window's caption, resource class, resource name
// and pid, as strings; with four empty strings when no window is active. Nothing is
// kept and nothing is written anywhere.
//
// Plasma 6 calls windows "windows" (workspace.windowActivated, workspace.activeWindow);
// Plasma 5.27 calls them "clients" (workspace.clientActivated, workspace.activeClient).

var NUDGED_SERVICE = "io.github.nudged.KWinFocus";
var NUDGED_PATH = "/io/github/nudged/KWinFocus";
var NUDGED_INTERFACE = "io.github.nudged.KWinFocus1";

function asText(value) {
    if (value === undefined || value === null)
        return "";
    if (typeof ArrayBuffer !== "undefined" && value instanceof ArrayBuffer) {
        // Plasma 5 hands a QByteArray (the resource class) to scripts as an ArrayBuffer.
        var bytes = new Uint8Array(value);
        var text = "";
        for (var i = 0; i < bytes.length; i++)
            text += String.fromCharCode(bytes[i]);
        return text;
    }
    return String(value);
}

function report(window) {
    if (!window) {
        callDBus(NUDGED_SERVICE, NUDGED_PATH, NUDGED_INTERFACE, "Focus", "", "", "", "");
        return;
    }
    callDBus(NUDGED_SERVICE, NUDGED_PATH, NUDGED_INTERFACE, "Focus",
        asText(window.caption), asText(window.resourceClass), asText(window.resourceName),
        asText(window.pid));
}

var followed = null;

function captionChanged() {
    report(followed);
}

function activated(window) {
    if (followed) {
        try {
            followed.captionChanged.disconnect(captionChanged);
        } catch (error) {
            // The window is gone already, and its signal with it.
        }
    }
    followed = window || null;
    if (followed)
        followed.captionChanged.connect(captionChanged);
    report(followed);
}

if (workspace.windowActivated !== undefined) {
    workspace.windowActivated.connect(activated);
    activated(workspace.activeWindow);
} else {
    workspace.clientActivated.connect(activated);
    activated(workspace.activeClient);
}
