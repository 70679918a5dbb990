"""chiptrail.geoloc: location verification from round-trip times (proven and likely regions).

Pure core (no I/O): distances on the sphere, light-speed and calibrated bounds, landmark vetting,
the vectorised region solver, country attribution from offline boundary data, verdicts, planning.
"""

from chiptrail.geoloc.borders import BorderIndex, country_at, load_border_index
from chiptrail.geoloc.bounds import (
    C_KM_PER_S,
    EARTH_MODEL_MARGIN,
    Calibration,
    calibrate_landmarks,
    disk_radii,
    fit_bestline,
    likely_radius_km,
    proven_radius_km,
)
from chiptrail.geoloc.formats import (
    RowError,
    RttTable,
    landmark_rtt_matrix,
    parse_landmarks_csv,
    parse_pairs_csv,
    parse_rtt_csv,
    parse_sites_csv,
)
from chiptrail.geoloc.geojson import region_geojson, region_outline, to_position
from chiptrail.geoloc.landmarks import Landmark, LandmarkSet
from chiptrail.geoloc.planning import (
    LandmarkPlan,
    LandmarkProposal,
    PairSeparation,
    Place,
    PlacePair,
    RttModel,
    plan_landmarks,
    propose_landmark,
)
from chiptrail.geoloc.region import (
    LocateOptions,
    LocateResult,
    RegionStatus,
    countries_in_region,
    locate_chunks,
    locate_targets,
)
from chiptrail.geoloc.sphere import EARTH_RADIUS_KM, great_circle_km
from chiptrail.geoloc.verdict import (
    DeclaredSite,
    LandmarkEvidence,
    LocationVerdict,
    judge_location,
    judge_targets,
)
from chiptrail.geoloc.vetting import (
    Contradiction,
    ExcludedLandmark,
    VettingReport,
    vet_landmarks,
)

__all__ = [
    "C_KM_PER_S",
    "EARTH_MODEL_MARGIN",
    "EARTH_RADIUS_KM",
    "BorderIndex",
    "Calibration",
    "Contradiction",
    "DeclaredSite",
    "ExcludedLandmark",
    "Landmark",
    "LandmarkEvidence",
    "LandmarkPlan",
    "LandmarkProposal",
    "LandmarkSet",
    "LocateOptions",
    "LocateResult",
    "LocationVerdict",
    "PairSeparation",
    "Place",
    "PlacePair",
    "RegionStatus",
    "RowError",
    "RttModel",
    "RttTable",
    "VettingReport",
    "calibrate_landmarks",
    "countries_in_region",
    "country_at",
    "disk_radii",
    "fit_bestline",
    "great_circle_km",
    "judge_location",
    "judge_targets",
    "landmark_rtt_matrix",
    "likely_radius_km",
    "load_border_index",
    "locate_chunks",
    "locate_targets",
    "parse_landmarks_csv",
    "parse_pairs_csv",
    "parse_rtt_csv",
    "parse_sites_csv",
    "plan_landmarks",
    "propose_landmark",
    "proven_radius_km",
    "region_geojson",
    "region_outline",
    "to_position",
    "vet_landmarks",
]
