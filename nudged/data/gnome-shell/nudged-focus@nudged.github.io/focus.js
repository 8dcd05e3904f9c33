// nudged-focus: the focused window's title, WM class / app id and pid on the session bus.
//
// The shared body of both extension formats: nudged/gnome.py writes extension.js by
// putting the imports of the format in front of this file (GNOME 43-44: `imports.gi`;
// 45 and later: ES modules) and its entry point after it. Nothing here may depend on
// the format: it uses only Gio, GLib and GNOME Shell's `global`.
//
// What it offers, on the session bus as io.github.nudged.Focus:
//   GetFocus() -> (title, wm_class, app_id, pid) of the focused window, or ('', '', '', 0)
//   signal FocusChanged(title, wm_class, app_id, pid) on every focus change and on every
//   change of the focused window's title or class (a browser tab switch changes only the
//   title).
// Nothing else: no other window, no history, and nothing is written to disk. Nothing
// polls: every report follows a signal of mutter's.

const BUS_NAME = 'io.github.nudged.Focus';
const OBJECT_PATH = '/io/github/nudged/Focus';
const PROTOCOL_VERSION = 1;
const INTERFACE_XML = `<node>
  <interface name="io.github.nudged.Focus1">
    <method name="GetFocus">
      <arg type="s" name="title" direction="out"/>
      <arg type="s" name="wm_class" direction="out"/>
      <arg type="s" name="app_id" direction="out"/>
      <arg type="i" name="pid" direction="out"/>
    </method>
    <signal name="FocusChanged">
      <arg type="s" name="title"/>
      <arg type="s" name="wm_class"/>
      <arg type="s" name="app_id"/>
      <arg type="i" name="pid"/>
    </signal>
    <property name="Version" type="u" access="read"/>
  </interface>
</node>`;

// The focused window's facts, always four values of the right types.
function describeWindow(window) {
    if (!window)
        return ['', '', '', 0];
    const text = value => (typeof value === 'string' ? value : '');
    const appId = text(window.get_sandboxed_app_id?.()) ||
        text(window.get_gtk_application_id?.());
    const pid = window.get_pid?.();
    return [
        text(window.get_title()),
        text(window.get_wm_class()),
        appId,
        Number.isInteger(pid) && pid > 0 ? pid : 0,
    ];
}

class FocusService {
    constructor(display) {
        this._display = display;
        this._window = null;
        this._windowSignals = [];
        this._focusSignal = 0;
        this._nameId = 0;
        this._dbus = null;
    }

    enable() {
        // Export first, then own the name: once the name is on the bus, so is the object.
        this._dbus = Gio.DBusExportedObject.wrapJSObject(INTERFACE_XML, this);
        this._dbus.export(Gio.DBus.session, OBJECT_PATH);
        this._focusSignal = this._display.connect('notify::focus-window',
            () => this._follow(this._display.focus_window));
        this._follow(this._display.focus_window);
        this._nameId = Gio.bus_own_name_on_connection(Gio.DBus.session, BUS_NAME,
            Gio.BusNameOwnerFlags.NONE, null, null);
    }

    disable() {
        if (this._nameId) {
            Gio.bus_unown_name(this._nameId);
            this._nameId = 0;
        }
        if (this._focusSignal) {
            this._display.disconnect(this._focusSignal);
            this._focusSignal = 0;
        }
        this._unfollow();
        if (this._dbus) {
            this._dbus.unexport();
            this._dbus = null;
        }
    }

    // -- the D-Bus interface (io.github.nudged.Focus1)
    GetFocus() {
        return describeWindow(this._window);
    }

    get Version() {
        return PROTOCOL_VERSION;
    }

    // -- following the focused window
    _follow(window) {
        if (window !== this._window) {
            this._unfollow();
            this._window = window || null;
            if (this._window) {
                for (const name of ['notify::title', 'notify::wm-class', 'unmanaged']) {
                    this._windowSignals.push(this._window.connect(name,
                        (_window, _pspec) => this._windowChanged(name)));
                }
            }
        }
        this._emit();
    }

    _unfollow() {
        const window = this._window;
        this._window = null;
        for (const id of this._windowSignals) {
            try {
                window.disconnect(id);
            } catch (_error) {
                // The window is gone already, and its signals with it.
            }
        }
        this._windowSignals = [];
    }

    _windowChanged(what) {
        if (what === 'unmanaged') {
            // Closed: mutter moves the focus next (notify::focus-window), and that
            // brings the next report, if only of no focus at all.
            this._unfollow();
            return;
        }
        this._emit();
    }

    _emit() {
        if (!this._dbus)
            return;
        this._dbus.emit_signal('FocusChanged',
            new GLib.Variant('(sssi)', describeWindow(this._window)));
    }
}
