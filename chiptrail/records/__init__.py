"""Trade records the rules read: orders and invoices, licences and licence exceptions, export
declarations, end-user certificates, declared sites, payments, registered addresses and BIS
"is informed" letters.

No I/O: values, validation and formats; ``service/records`` stores them.
"""

from chiptrail.records.formats import (
    RecordFormat,
    parse_kind,
    parse_records,
    record_to_json,
    validate_records,
)
from chiptrail.records.model import (
    SPECS,
    AddressKind,
    AddressRecord,
    DeclarationRecord,
    EndUseCertificate,
    IsInformedLetter,
    LicenceKind,
    LicenceRecord,
    OrderRecord,
    PaymentRecord,
    Record,
    RecordKind,
    SiteRecord,
    record_at,
    record_key,
    record_parties,
)

__all__ = [
    "SPECS",
    "AddressKind",
    "AddressRecord",
    "DeclarationRecord",
    "EndUseCertificate",
    "IsInformedLetter",
    "LicenceKind",
    "LicenceRecord",
    "OrderRecord",
    "PaymentRecord",
    "Record",
    "RecordFormat",
    "RecordKind",
    "SiteRecord",
    "parse_kind",
    "parse_records",
    "record_at",
    "record_key",
    "record_parties",
    "record_to_json",
    "validate_records",
]
