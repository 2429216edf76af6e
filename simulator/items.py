"""The item catalogue (drugs, services, materials) and the honest bill builders.

Codes look like Chinese catalogue codes (9-digit service items, ``X``/``Z``
drug codes, ``C`` material codes) but are ILLUSTRATIVE; prices are rounded
orders of magnitude of Guangdong fees in fen. Services are priced by hospital
level (regulated fees); drugs and materials carry a small per-hospital
procurement factor, so the same code has the same price at one hospital.
"""

from __future__ import annotations

from dataclasses import dataclass

# code: (category, base price in fen, kind)
CATALOGUE: dict[str, tuple[str, int, str]] = {
    # consultation, bed, nursing, basic services
    "110200001": ("A", 1000, "service"),  # outpatient consultation
    "110200002": ("A", 2500, "service"),  # specialist consultation
    "110200003": ("A", 1200, "service"),  # inpatient daily diagnosis fee
    "110900001": ("A", 4500, "service"),  # bed, general ward, per day
    "110900002": ("B", 8000, "service"),  # bed, double room, per day
    "110900003": ("C", 15000, "service"),  # single-room surcharge, per day
    "120100001": ("A", 2500, "service"),  # grade-2 nursing, per day
    "120100002": ("A", 3500, "service"),  # grade-1 nursing, per day
    "120400001": ("A", 1200, "service"),  # intravenous infusion
    "130100001": ("A", 15000, "service"),  # ltc institutional care, per day
    "130100002": ("A", 10500, "service"),  # ltc home care, per day
    "130100003": ("C", 3000, "service"),  # ltc enhanced personal care, per day
    "340100001": ("B", 3000, "service"),  # physiotherapy session
    "340200001": ("B", 4500, "service"),  # rehabilitation training session
    "311000001": ("A", 40000, "service"),  # haemodialysis session
    # laboratory
    "250101001": ("A", 2000, "lab"),  # complete blood count
    "250301001": ("A", 6000, "lab"),  # liver function panel
    "250302001": ("A", 4500, "lab"),  # renal function panel
    "250307001": ("A", 800, "lab"),  # blood glucose
    "250308001": ("A", 5500, "lab"),  # HbA1c
    "250309001": ("A", 6500, "lab"),  # lipid panel
    "250403001": ("A", 3000, "lab"),  # C-reactive protein
    "250501001": ("A", 1000, "lab"),  # urinalysis
    "250601001": ("B", 9000, "lab"),  # cardiac troponin
    "250701001": ("B", 12000, "lab"),  # sputum culture and sensitivity
    "270100001": ("A", 15000, "lab"),  # histopathology
    # imaging and exams
    "210102001": ("A", 6000, "exam"),  # chest X-ray
    "210300001": ("A", 28000, "exam"),  # CT head
    "210300002": ("A", 32000, "exam"),  # CT chest
    "220100001": ("A", 12000, "exam"),  # abdominal ultrasound
    "220200001": ("A", 15000, "exam"),  # echocardiography
    "230100001": ("B", 60000, "exam"),  # MRI
    "310701001": ("A", 2000, "exam"),  # ECG
    "310702001": ("B", 15000, "exam"),  # Holter
    "310800001": ("B", 25000, "exam"),  # gastroscopy
    # operations and anaesthesia
    "330803001": ("A", 250000, "procedure"),  # PCI
    "330803002": ("A", 80000, "procedure"),  # coronary angiography
    "330804001": ("A", 70000, "procedure"),  # cerebral angiography (DSA)
    "311503001": ("A", 30000, "service"),  # invasive mechanical ventilation, per day
    "331003001": ("A", 120000, "procedure"),  # appendectomy
    "331005001": ("A", 180000, "procedure"),  # laparoscopic cholecystectomy
    "331101001": ("A", 200000, "procedure"),  # TURP
    "331201001": ("A", 150000, "procedure"),  # phacoemulsification + IOL
    "331301001": ("A", 160000, "procedure"),  # caesarean section
    "331302001": ("A", 50000, "procedure"),  # normal delivery package
    "331501001": ("A", 450000, "procedure"),  # joint replacement
    "331502001": ("A", 90000, "procedure"),  # fracture fixation
    "330100001": ("A", 60000, "procedure"),  # anaesthesia
    # drugs (price per box / vial / bag)
    "XJ01CAA001": ("A", 1250, "drug"),  # amoxicillin
    "XJ01DCA001": ("B", 2600, "drug"),  # cefuroxime injection
    "XJ01DDA001": ("A", 1800, "drug"),  # ceftriaxone injection
    "XJ01MAA001": ("B", 3500, "drug"),  # levofloxacin
    "XR05CBA001": ("A", 1600, "drug"),  # ambroxol
    "XR03ACA001": ("A", 2500, "drug"),  # salbutamol inhaler
    "XR03AKA001": ("B", 28000, "drug"),  # budesonide/formoterol
    "XN02BEA001": ("A", 500, "drug"),  # paracetamol
    "XM01AEA001": ("A", 800, "drug"),  # ibuprofen
    "XA10BAA001": ("A", 1200, "drug"),  # metformin
    "XA10AEA001": ("B", 18000, "drug"),  # insulin glargine
    "XA10BBA001": ("A", 1500, "drug"),  # gliclazide
    "XC08CAA001": ("A", 1500, "drug"),  # amlodipine
    "XC09CAA001": ("B", 3000, "drug"),  # valsartan
    "XC10AAA001": ("A", 2500, "drug"),  # atorvastatin
    "XB01ACA001": ("A", 1000, "drug"),  # aspirin
    "XB01ACA002": ("B", 4500, "drug"),  # clopidogrel
    "XC03CAA001": ("A", 600, "drug"),  # furosemide
    "XC07ABA001": ("A", 1800, "drug"),  # metoprolol
    "XB01ABA001": ("B", 6500, "drug"),  # low-molecular-weight heparin
    "XA02BCA001": ("A", 1500, "drug"),  # omeprazole
    "XA07DAA001": ("A", 900, "drug"),  # loperamide
    "XA03FAA001": ("A", 1100, "drug"),  # domperidone
    "XN06ABA001": ("B", 4200, "drug"),  # sertraline
    "XN05AHA001": ("B", 5200, "drug"),  # quetiapine
    "XG04CAA001": ("B", 5800, "drug"),  # tamsulosin
    "XS01XAA001": ("B", 3800, "drug"),  # eye drops
    "XD07ACA001": ("A", 1300, "drug"),  # topical corticosteroid
    "XB03XAA001": ("B", 9000, "drug"),  # erythropoietin
    "XL01CDA001": ("B", 120000, "drug"),  # paclitaxel
    "XL01XAA001": ("A", 8000, "drug"),  # cisplatin
    "XA04AAA001": ("B", 6000, "drug"),  # ondansetron
    "XB05BBA001": ("A", 400, "drug"),  # normal saline bag
    "XB05BAA001": ("A", 450, "drug"),  # glucose 5% bag
    "XA11DAA001": ("A", 300, "drug"),  # vitamin B1
    "ZA12BAA001": ("B", 6800, "drug"),  # Danshen injection (TCM)
    "ZA04CAA001": ("B", 4600, "drug"),  # TCM granules
    # self-pay drugs and materials (category C) and their catalogue look-alikes
    "XA11JAC001": ("C", 9800, "drug"),  # imported multivitamin
    "XV06DBC001": ("C", 16800, "drug"),  # enteral nutrition powder
    "C14010101": ("A", 300, "material"),  # gauze dressing
    "C14010102": ("C", 6800, "material"),  # hydrophilic foam dressing (imported)
    "C02020101": ("A", 1200, "material"),  # ordinary suture
    "C02020102": ("C", 9500, "material"),  # absorbable suture (imported)
    "C03010101": ("B", 70000, "material"),  # drug-eluting stent (domestic)
    "C05010101": ("B", 180000, "material"),  # joint prosthesis
    "C06010101": ("C", 2400, "material"),  # adult incontinence pads
}

# Self-pay items and the catalogue code a substituting hospital bills instead.
SUBSTITUTES: dict[str, str] = {
    "C14010102": "C14010101",
    "C02020102": "C02020101",
    "XA11JAC001": "XA11DAA001",
    "XV06DBC001": "XB05BAA001",
    "110900003": "110900001",
    "130100003": "120100002",
}


@dataclass(frozen=True)
class GroupProfile:
    """What a clinical group bills: drugs, tests, exams, and how often."""

    drugs: tuple[str, ...]
    labs: tuple[str, ...]
    exams: tuple[str, ...]
    p_lab: float  # outpatient probability of a lab test
    p_exam: float  # outpatient probability of an exam
    p_iv: float  # outpatient probability of an infusion


PROFILES: dict[str, GroupProfile] = {
    "resp": GroupProfile(
        ("XJ01CAA001", "XJ01DCA001", "XJ01DDA001", "XJ01MAA001", "XR05CBA001", "XR03ACA001",
         "XR03AKA001", "XN02BEA001", "ZA04CAA001"),
        ("250101001", "250403001", "250701001"),
        ("210102001", "210300002"),
        0.45, 0.15, 0.2,
    ),
    "cardio": GroupProfile(
        ("XC08CAA001", "XC09CAA001", "XC10AAA001", "XB01ACA001", "XB01ACA002", "XC03CAA001",
         "XC07ABA001", "ZA12BAA001", "XB01ABA001"),
        ("250101001", "250302001", "250309001", "250601001"),
        ("310701001", "220200001", "310702001"),
        0.3, 0.35, 0.03,
    ),
    "metab": GroupProfile(
        ("XA10BAA001", "XA10AEA001", "XA10BBA001", "XC10AAA001", "XC08CAA001", "XA11DAA001"),
        ("250307001", "250308001", "250309001", "250302001"),
        ("220100001", "310701001"),
        0.55, 0.08, 0.02,
    ),
    "neuro": GroupProfile(
        ("XB01ACA001", "XB01ACA002", "XC10AAA001", "ZA12BAA001", "XB01ABA001", "XC08CAA001",
         "XA11DAA001"),
        ("250101001", "250302001", "250309001"),
        ("210300001", "230100001", "310701001"),
        0.3, 0.4, 0.05,
    ),
    "rehab": GroupProfile(
        ("XB01ACA001", "XC10AAA001", "ZA12BAA001", "ZA04CAA001", "XA11DAA001"),
        ("250101001",),
        ("210300001",),
        0.1, 0.05, 0.02,
    ),
    "gi": GroupProfile(
        ("XA02BCA001", "XA07DAA001", "XA03FAA001", "XJ01DDA001", "ZA04CAA001", "XB05BAA001"),
        ("250101001", "250301001", "250403001"),
        ("220100001", "310800001"),
        0.4, 0.2, 0.15,
    ),
    "uro": GroupProfile(
        ("XJ01MAA001", "XG04CAA001", "XJ01DCA001", "ZA04CAA001"),
        ("250501001", "250101001", "250302001"),
        ("220100001",),
        0.6, 0.3, 0.05,
    ),
    "renal": GroupProfile(
        ("XB03XAA001", "XC08CAA001", "XC03CAA001"),
        ("250302001", "250101001"),
        ("220100001",),
        0.2, 0.02, 0.0,
    ),
    "ortho": GroupProfile(
        ("XM01AEA001", "ZA04CAA001", "ZA12BAA001", "XN02BEA001"),
        ("250101001", "250403001"),
        ("210102001", "230100001"),
        0.1, 0.4, 0.05,
    ),
    "obst": GroupProfile(
        ("XJ01DCA001", "XB05BBA001", "XN02BEA001"),
        ("250101001", "250501001"),
        ("220100001",),
        0.3, 0.5, 0.0,
    ),
    "eye": GroupProfile(
        ("XS01XAA001", "XJ01MAA001"),
        ("250101001",),
        ("310701001",),
        0.05, 0.2, 0.0,
    ),
    "onc": GroupProfile(
        ("XL01XAA001", "XA04AAA001", "XB05BBA001", "XJ01DDA001", "ZA12BAA001"),
        ("250101001", "250301001", "250302001", "270100001"),
        ("210300002", "230100001"),
        0.5, 0.3, 0.05,
    ),
    "chemo": GroupProfile(
        ("XL01CDA001", "XL01XAA001", "XA04AAA001", "XB05BBA001"),
        ("250101001", "250301001"),
        ("210300002",),
        0.5, 0.1, 0.0,
    ),
    "psych": GroupProfile(
        ("XN06ABA001", "XN05AHA001"),
        ("250101001", "250301001"),
        ("310701001",),
        0.15, 0.05, 0.0,
    ),
    "general": GroupProfile(
        ("XN02BEA001", "XM01AEA001", "ZA04CAA001"),
        ("250101001",),
        ("210300001",),
        0.2, 0.1, 0.02,
    ),
    "skin": GroupProfile(("XD07ACA001", "ZA04CAA001"), ("250101001",), ("310701001",),
                         0.05, 0.0, 0.0),
    "dental": GroupProfile(("XM01AEA001", "XJ01CAA001"), ("250101001",), ("210102001",),
                           0.02, 0.3, 0.0),
}  # fmt: skip

ADMISSION_LABS: tuple[str, ...] = ("250101001", "250301001", "250302001", "250501001", "250403001")
C_INPATIENT: tuple[str, ...] = ("110900003", "XA11JAC001", "XV06DBC001", "C14010102")
C_OUTPATIENT: tuple[str, ...] = ("XA11JAC001", "XV06DBC001")

LEVEL_SERVICE_FACTOR = {1: 0.8, 2: 1.0, 3: 1.25}


def price_list(level: int, drug_factor: float) -> dict[str, int]:
    """One hospital's prices in fen: services by level, drugs and materials by procurement."""
    prices = {}
    svc = LEVEL_SERVICE_FACTOR[level]
    for code, (_cat, base, kind) in CATALOGUE.items():
        f = drug_factor if kind in ("drug", "material") else svc
        # Regulated fees end in whole jiao; drug prices are to the fen.
        p = round(base * f)
        if kind not in ("drug", "material"):
            p = max(10, round(p / 10) * 10)
        prices[code] = p
    return prices
