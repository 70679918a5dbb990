"""Location use cases: probe rounds, device keys, measurements, geolocation and verdicts.

The geometry and the probe messages are pure (``chiptrail.geoloc``, ``chiptrail.probe``); this
package stores and serves them.
"""
