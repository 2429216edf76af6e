"""The item catalogue (drugs, services, materials) and the honest bill builders.

Codes follow the national medical-insurance formats: drugs ``X`` + a 5-character
ATC-like class + a 4-character drug number + 2 characters of form (Western
drugs, 医保药品编码), ``Z`` + 10 characters (Chinese patent medicines);
services the 15 digits of the national service-item classification
(医疗服务项目编码); materials ``C`` + 19 characters (医用耗材编码). The codes,
names and prices are ILLUSTRATIVE, not published entries; prices are rounded
orders of magnitude of Guangdong fees in fen. Services are priced by hospital
level (regulated fees); drugs and materials carry a small per-hospital
procurement factor, so the same code has the same price at one hospital. A
region's payable price ceiling of an item is its highest price there
(:func:`simulator.categories.catalogue_rows`); the audit rule tables of
``detection/rule_tables/`` key their rows by these codes.
"""

from __future__ import annotations

from dataclasses import dataclass

# code: (category, base price in fen, kind)
CATALOGUE: dict[str, tuple[str, int, str]] = {
    # consultation, bed, nursing, basic services
    "110200001000000": ("A", 1000, "service"),  # outpatient consultation
    "110200002000000": ("A", 2500, "service"),  # specialist consultation
    "110200003000000": ("A", 1200, "service"),  # inpatient daily diagnosis fee
    "110900001000000": ("A", 4500, "service"),  # bed, general ward, per day
    "110900002000000": ("B", 8000, "service"),  # bed, double room, per day
    "110900003000000": ("C", 15000, "service"),  # single-room surcharge, per day
    "120100003000000": ("A", 2500, "service"),  # grade-2 nursing, per day
    "120100002000000": ("A", 3500, "service"),  # grade-1 nursing, per day
    "120400006000000": ("A", 1200, "service"),  # intravenous infusion
    "130100001000000": ("A", 15000, "service"),  # ltc institutional care, per day
    "130100002000000": ("A", 10500, "service"),  # ltc home care, per day
    "130100003000000": ("C", 3000, "service"),  # ltc enhanced personal care, per day
    "340100001000000": ("B", 3000, "service"),  # physiotherapy session
    "340200001000000": ("B", 4500, "service"),  # rehabilitation training session
    "311000001000000": ("A", 40000, "service"),  # haemodialysis session
    # laboratory
    "250101015000000": ("A", 2000, "lab"),  # complete blood count
    "250305001000000": ("A", 6000, "lab"),  # liver function panel
    "250307001000000": ("A", 4500, "lab"),  # renal function panel
    "250301001000000": ("A", 800, "lab"),  # blood glucose
    "250302001000000": ("A", 5500, "lab"),  # HbA1c
    "250303001000000": ("A", 6500, "lab"),  # lipid panel
    "250403001000000": ("A", 3000, "lab"),  # C-reactive protein
    "250501001000000": ("A", 1000, "lab"),  # urinalysis
    "250601001000000": ("B", 9000, "lab"),  # cardiac troponin
    "250501023000000": ("B", 12000, "lab"),  # sputum culture and sensitivity
    "270100001000000": ("A", 15000, "lab"),  # histopathology
    # imaging and exams
    "210102001000000": ("A", 6000, "exam"),  # chest X-ray
    "210300001000000": ("A", 28000, "exam"),  # CT head
    "210300002000000": ("A", 32000, "exam"),  # CT chest
    "220100001000000": ("A", 12000, "exam"),  # abdominal ultrasound
    "220200001000000": ("A", 15000, "exam"),  # echocardiography
    "230100001000000": ("B", 60000, "exam"),  # MRI
    "310701001000000": ("A", 2000, "exam"),  # ECG
    "310702001000000": ("B", 15000, "exam"),  # Holter
    "310800001000000": ("B", 25000, "exam"),  # gastroscopy
    # operations and anaesthesia
    "331003006000000": ("A", 250000, "procedure"),  # PCI
    "330803002000000": ("A", 80000, "procedure"),  # coronary angiography
    "330804001000000": ("A", 70000, "procedure"),  # cerebral angiography (DSA)
    "311503001000000": ("A", 30000, "service"),  # invasive mechanical ventilation, per day
    "331003001000000": ("A", 120000, "procedure"),  # appendectomy
    "331005001000000": ("A", 180000, "procedure"),  # laparoscopic cholecystectomy
    "331101001000000": ("A", 200000, "procedure"),  # TURP
    "331201001000000": ("A", 150000, "procedure"),  # phacoemulsification + IOL
    "331301001000000": ("A", 160000, "procedure"),  # caesarean section
    "331302001000000": ("A", 50000, "procedure"),  # normal delivery package
    "331501001000000": ("A", 450000, "procedure"),  # joint replacement
    "331502001000000": ("A", 90000, "procedure"),  # fracture fixation
    "330100005000000": ("A", 60000, "procedure"),  # anaesthesia
    # drugs (price per box / vial / bag)
    "XJ01CAA001E0": ("A", 1250, "drug"),  # amoxicillin
    "XJ01DCA001B0": ("B", 2600, "drug"),  # cefuroxime injection
    "XJ01DDA001B0": ("A", 1800, "drug"),  # ceftriaxone injection
    "XJ01MAA001A0": ("B", 3500, "drug"),  # levofloxacin
    "XR05CBA001A0": ("A", 1600, "drug"),  # ambroxol
    "XR03ACA001L0": ("A", 2500, "drug"),  # salbutamol inhaler
    "XR03AKA001L0": ("B", 28000, "drug"),  # budesonide/formoterol
    "XN02BEA001A0": ("A", 500, "drug"),  # paracetamol
    "XM01AEA001E0": ("A", 800, "drug"),  # ibuprofen
    "XA10BAA001A0": ("A", 1200, "drug"),  # metformin
    "XA10AEA001B0": ("B", 18000, "drug"),  # insulin glargine
    "XA10BBA001A0": ("A", 1500, "drug"),  # gliclazide
    "XC08CAA001A0": ("A", 1500, "drug"),  # amlodipine
    "XC09CAA001E0": ("B", 3000, "drug"),  # valsartan
    "XC10AAA001A0": ("A", 2500, "drug"),  # atorvastatin
    "XB01ACA001A0": ("A", 1000, "drug"),  # aspirin
    "XB01ACL001A0": ("B", 4500, "drug"),  # clopidogrel
    "XC03CAA001A0": ("A", 600, "drug"),  # furosemide
    "XC07ABA001A0": ("A", 1800, "drug"),  # metoprolol
    "XB01ABA001B0": ("B", 6500, "drug"),  # low-molecular-weight heparin
    "XA02BCA001E0": ("A", 1500, "drug"),  # omeprazole
    "XA07DAA001E0": ("A", 900, "drug"),  # loperamide
    "XA03FAA001A0": ("A", 1100, "drug"),  # domperidone
    "XN06ABA001A0": ("B", 4200, "drug"),  # sertraline
    "XN05AHA001A0": ("B", 5200, "drug"),  # quetiapine
    "XG04CAA001E0": ("B", 5800, "drug"),  # tamsulosin
    "XS01XAA001G0": ("B", 3800, "drug"),  # eye drops
    "XD07ACA001H0": ("A", 1300, "drug"),  # topical corticosteroid
    "XB03XAA001B0": ("B", 9000, "drug"),  # erythropoietin
    "XL01CDA001B0": ("B", 120000, "drug"),  # paclitaxel
    "XL01XAA001B0": ("A", 8000, "drug"),  # cisplatin
    "XA04AAA001B0": ("B", 6000, "drug"),  # ondansetron
    "XB05BBA001B0": ("A", 400, "drug"),  # normal saline bag
    "XB05BAA001B0": ("A", 450, "drug"),  # glucose 5% bag
    "XA11DAA001A0": ("A", 300, "drug"),  # vitamin B1
    "ZA12BAA0010": ("B", 6800, "drug"),  # Danshen injection (TCM)
    "ZA04CAA0010": ("B", 4600, "drug"),  # TCM granules
    # self-pay drugs and materials (category C) and their catalogue look-alikes
    "XA11JAC001A0": ("C", 9800, "drug"),  # imported multivitamin
    "XV06DBC001K0": ("C", 16800, "drug"),  # enteral nutrition powder
    "C1401010100001000001": ("A", 300, "material"),  # gauze dressing
    "C1401010200001000001": ("C", 6800, "material"),  # hydrophilic foam dressing (imported)
    "C0202010100001000001": ("A", 1200, "material"),  # ordinary suture
    "C0202010200001000001": ("C", 9500, "material"),  # absorbable suture (imported)
    "C0301010100001000001": ("B", 70000, "material"),  # drug-eluting stent (domestic)
    "C0501010100001000001": ("B", 180000, "material"),  # joint prosthesis
    "C0601010100001000001": ("C", 2400, "material"),  # adult incontinence pads
}

# Items billed only where :mod:`simulator.rule_violations` injects an audit-rule
# violation or its honest look-alike (sex- and age-restricted items, items with
# a quantity limit, a prerequisite, a package's parts...). They are kept apart
# so that hospitals' honest bills, pack sizes and random draws do not change.
RULE_ITEMS: dict[str, tuple[str, int, str]] = {
    "XG03DAH001B0": ("A", 1200, "drug"),  # progesterone injection (women only)
    "XG03HAC001A0": ("B", 4800, "drug"),  # cyproterone tablets (women only)
    "XG04CAT001E0": ("B", 6200, "drug"),  # tamsulosin capsules, restricted listing (men only)
    "311201001000000": ("A", 1500, "service"),  # gynaecological examination (women only)
    "311202001000000": ("A", 9000, "service"),  # colposcopy (women only)
    "311000013000000": ("A", 3000, "service"),  # prostate massage (men only)
    "ZA01AAX0120": ("A", 2800, "drug"),  # children's fever granules (0-17)
    "XR05CAA012C0": ("A", 1800, "drug"),  # children's ambroxol solution (0-14)
    "120100011000000": ("A", 8000, "service"),  # newborn special care (under 1)
    "XJ01DHM046B0": ("B", 9500, "drug"),  # meropenem for injection (severe infection)
    "XL04AXL001E0": ("B", 60000, "drug"),  # lenalidomide capsules (level 2 and 3)
    "XN02AXT001A0": ("A", 600, "drug"),  # tramadol tablets (4 a day)
    "XB05AAR001B0": ("B", 30000, "drug"),  # human albumin 10g (2 a day, 10 a stay)
    "120100001000000": ("A", 6000, "service"),  # special-grade nursing (includes grade 1)
    "330100001000000": ("A", 3000, "procedure"),  # local infiltration anaesthesia
    "250305002000000": ("A", 1500, "lab"),  # alanine aminotransferase (ALT)
    "250305003000000": ("A", 1500, "lab"),  # aspartate aminotransferase (AST)
    "250305004000000": ("A", 1200, "lab"),  # total bilirubin
    "250305005000000": ("A", 1200, "lab"),  # serum albumin
    "250307002000000": ("A", 1000, "lab"),  # urea
    "250307003000000": ("A", 1200, "lab"),  # creatinine
    "250307004000000": ("A", 1200, "lab"),  # uric acid
    "260000005000000": ("A", 5000, "service"),  # blood transfusion (after ABO typing)
    "260000001000000": ("A", 1500, "lab"),  # ABO blood typing
}
CATALOGUE.update(RULE_ITEMS)

# Every item's name in Chinese and English, as a bureau's catalogue shows it.
NAMES: dict[str, tuple[str, str]] = {
    "110200001000000": ("普通门诊诊查费", "outpatient consultation"),
    "110200002000000": ("专家门诊诊查费", "specialist consultation"),
    "110200003000000": ("住院诊查费", "inpatient daily diagnosis fee"),
    "110900001000000": ("普通病房床位费", "bed, general ward, per day"),
    "110900002000000": ("双人间床位费", "bed, double room, per day"),
    "110900003000000": ("单人间床位差价", "single-room surcharge, per day"),
    "120100003000000": ("二级护理", "grade-2 nursing, per day"),
    "120100002000000": ("一级护理", "grade-1 nursing, per day"),
    "120400006000000": ("静脉输液", "intravenous infusion"),
    "130100001000000": ("机构护理(长护险)", "ltc institutional care, per day"),
    "130100002000000": ("居家护理(长护险)", "ltc home care, per day"),
    "130100003000000": ("增强生活照料(长护险)", "ltc enhanced personal care, per day"),
    "340100001000000": ("物理治疗", "physiotherapy session"),
    "340200001000000": ("康复训练", "rehabilitation training session"),
    "311000001000000": ("血液透析", "haemodialysis session"),
    "250101015000000": ("血常规", "complete blood count"),
    "250305001000000": ("肝功能全套", "liver function panel"),
    "250307001000000": ("肾功能全套", "renal function panel"),
    "250301001000000": ("血糖测定", "blood glucose"),
    "250302001000000": ("糖化血红蛋白测定", "HbA1c"),
    "250303001000000": ("血脂四项", "lipid panel"),
    "250403001000000": ("C反应蛋白测定", "C-reactive protein"),
    "250501001000000": ("尿常规", "urinalysis"),
    "250601001000000": ("心肌肌钙蛋白测定", "cardiac troponin"),
    "250501023000000": ("痰培养及药敏试验", "sputum culture and sensitivity"),
    "270100001000000": ("组织病理学检查", "histopathology"),
    "210102001000000": ("胸部X线摄影", "chest X-ray"),
    "210300001000000": ("颅脑CT平扫", "CT head"),
    "210300002000000": ("胸部CT平扫", "CT chest"),
    "220100001000000": ("腹部超声", "abdominal ultrasound"),
    "220200001000000": ("超声心动图", "echocardiography"),
    "230100001000000": ("磁共振成像", "MRI"),
    "310701001000000": ("常规心电图", "ECG"),
    "310702001000000": ("动态心电图", "Holter"),
    "310800001000000": ("胃镜检查", "gastroscopy"),
    "331003006000000": ("经皮冠状动脉支架置入术", "PCI"),
    "330803002000000": ("冠状动脉造影", "coronary angiography"),
    "330804001000000": ("脑血管造影(DSA)", "cerebral angiography (DSA)"),
    "311503001000000": ("有创呼吸机辅助通气", "invasive mechanical ventilation, per day"),
    "331003001000000": ("阑尾切除术", "appendectomy"),
    "331005001000000": ("腹腔镜胆囊切除术", "laparoscopic cholecystectomy"),
    "331101001000000": ("经尿道前列腺电切术", "TURP"),
    "331201001000000": ("白内障超声乳化摘除+人工晶体植入", "phacoemulsification + IOL"),
    "331301001000000": ("剖宫产术", "caesarean section"),
    "331302001000000": ("顺产接生", "normal delivery package"),
    "331501001000000": ("人工关节置换术", "joint replacement"),
    "331502001000000": ("骨折内固定术", "fracture fixation"),
    "330100005000000": ("全身麻醉", "anaesthesia"),
    "XJ01CAA001E0": ("阿莫西林胶囊", "amoxicillin"),
    "XJ01DCA001B0": ("注射用头孢呋辛钠", "cefuroxime injection"),
    "XJ01DDA001B0": ("注射用头孢曲松钠", "ceftriaxone injection"),
    "XJ01MAA001A0": ("左氧氟沙星片", "levofloxacin"),
    "XR05CBA001A0": ("盐酸氨溴索片", "ambroxol"),
    "XR03ACA001L0": ("硫酸沙丁胺醇吸入气雾剂", "salbutamol inhaler"),
    "XR03AKA001L0": ("布地奈德福莫特罗吸入粉雾剂", "budesonide/formoterol"),
    "XN02BEA001A0": ("对乙酰氨基酚片", "paracetamol"),
    "XM01AEA001E0": ("布洛芬缓释胶囊", "ibuprofen"),
    "XA10BAA001A0": ("盐酸二甲双胍片", "metformin"),
    "XA10AEA001B0": ("甘精胰岛素注射液", "insulin glargine"),
    "XA10BBA001A0": ("格列齐特缓释片", "gliclazide"),
    "XC08CAA001A0": ("苯磺酸氨氯地平片", "amlodipine"),
    "XC09CAA001E0": ("缬沙坦胶囊", "valsartan"),
    "XC10AAA001A0": ("阿托伐他汀钙片", "atorvastatin"),
    "XB01ACA001A0": ("阿司匹林肠溶片", "aspirin"),
    "XB01ACL001A0": ("硫酸氢氯吡格雷片", "clopidogrel"),
    "XC03CAA001A0": ("呋塞米片", "furosemide"),
    "XC07ABA001A0": ("酒石酸美托洛尔片", "metoprolol"),
    "XB01ABA001B0": ("低分子肝素钙注射液", "low-molecular-weight heparin"),
    "XA02BCA001E0": ("奥美拉唑肠溶胶囊", "omeprazole"),
    "XA07DAA001E0": ("盐酸洛哌丁胺胶囊", "loperamide"),
    "XA03FAA001A0": ("多潘立酮片", "domperidone"),
    "XN06ABA001A0": ("盐酸舍曲林片", "sertraline"),
    "XN05AHA001A0": ("富马酸喹硫平片", "quetiapine"),
    "XG04CAA001E0": ("盐酸坦索罗辛缓释胶囊", "tamsulosin"),
    "XS01XAA001G0": ("滴眼液", "eye drops"),
    "XD07ACA001H0": ("糖皮质激素乳膏", "topical corticosteroid"),
    "XB03XAA001B0": ("重组人促红素注射液", "erythropoietin"),
    "XL01CDA001B0": ("注射用紫杉醇", "paclitaxel"),
    "XL01XAA001B0": ("注射用顺铂", "cisplatin"),
    "XA04AAA001B0": ("盐酸昂丹司琼注射液", "ondansetron"),
    "XB05BBA001B0": ("氯化钠注射液", "normal saline bag"),
    "XB05BAA001B0": ("葡萄糖注射液(5%)", "glucose 5% bag"),
    "XA11DAA001A0": ("维生素B1片", "vitamin B1"),
    "ZA12BAA0010": ("丹参注射液", "Danshen injection (TCM)"),
    "ZA04CAA0010": ("中药配方颗粒", "TCM granules"),
    "XA11JAC001A0": ("进口复合维生素片", "imported multivitamin"),
    "XV06DBC001K0": ("肠内营养粉剂", "enteral nutrition powder"),
    "C1401010100001000001": ("医用纱布敷料", "gauze dressing"),
    "C1401010200001000001": ("亲水性泡沫敷料(进口)", "hydrophilic foam dressing (imported)"),
    "C0202010100001000001": ("普通缝合线", "ordinary suture"),
    "C0202010200001000001": ("可吸收缝合线(进口)", "absorbable suture (imported)"),
    "C0301010100001000001": ("药物洗脱支架(国产)", "drug-eluting stent (domestic)"),
    "C0501010100001000001": ("人工关节假体", "joint prosthesis"),
    "C0601010100001000001": ("成人纸尿裤", "adult incontinence pads"),
    "XG03DAH001B0": ("黄体酮注射液", "progesterone injection"),
    "XG03HAC001A0": ("醋酸环丙孕酮片", "cyproterone tablets"),
    "XG04CAT001E0": ("盐酸坦洛新缓释胶囊", "tamsulosin capsules, restricted listing"),
    "311201001000000": ("妇科检查", "gynaecological examination"),
    "311202001000000": ("阴道镜检查", "colposcopy"),
    "311000013000000": ("前列腺按摩", "prostate massage"),
    "ZA01AAX0120": ("小儿豉翘清热颗粒", "children's fever granules"),
    "XR05CAA012C0": ("小儿氨溴索口服溶液", "children's ambroxol solution"),
    "120100011000000": ("新生儿特殊护理", "newborn special care"),
    "XJ01DHM046B0": ("注射用美罗培南", "meropenem for injection"),
    "XL04AXL001E0": ("来那度胺胶囊", "lenalidomide capsules"),
    "XN02AXT001A0": ("盐酸曲马多片", "tramadol tablets"),
    "XB05AAR001B0": ("人血白蛋白", "human albumin 10g"),
    "120100001000000": ("特级护理", "special-grade nursing"),
    "330100001000000": ("局部浸润麻醉", "local infiltration anaesthesia"),
    "250305002000000": ("丙氨酸氨基转移酶测定", "alanine aminotransferase"),
    "250305003000000": ("天门冬氨酸氨基转移酶测定", "aspartate aminotransferase"),
    "250305004000000": ("总胆红素测定", "total bilirubin"),
    "250305005000000": ("白蛋白测定", "serum albumin"),
    "250307002000000": ("尿素测定", "urea"),
    "250307003000000": ("肌酐测定", "creatinine"),
    "250307004000000": ("尿酸测定", "uric acid"),
    "260000005000000": ("输血", "blood transfusion"),
    "260000001000000": ("ABO血型鉴定", "ABO blood typing"),
}

# Self-pay items and the catalogue code a substituting hospital bills instead.
SUBSTITUTES: dict[str, str] = {
    "C1401010200001000001": "C1401010100001000001",
    "C0202010200001000001": "C0202010100001000001",
    "XA11JAC001A0": "XA11DAA001A0",
    "XV06DBC001K0": "XB05BAA001B0",
    "110900003000000": "110900001000000",
    "130100003000000": "120100002000000",
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
        ("XJ01CAA001E0", "XJ01DCA001B0", "XJ01DDA001B0", "XJ01MAA001A0",
         "XR05CBA001A0", "XR03ACA001L0",
         "XR03AKA001L0", "XN02BEA001A0", "ZA04CAA0010"),
        ("250101015000000", "250403001000000", "250501023000000"),
        ("210102001000000", "210300002000000"),
        0.45, 0.15, 0.2,
    ),
    "cardio": GroupProfile(
        ("XC08CAA001A0", "XC09CAA001E0", "XC10AAA001A0", "XB01ACA001A0",
         "XB01ACL001A0", "XC03CAA001A0",
         "XC07ABA001A0", "ZA12BAA0010", "XB01ABA001B0"),
        ("250101015000000", "250307001000000", "250303001000000", "250601001000000"),
        ("310701001000000", "220200001000000", "310702001000000"),
        0.3, 0.35, 0.03,
    ),
    "metab": GroupProfile(
        ("XA10BAA001A0", "XA10AEA001B0", "XA10BBA001A0", "XC10AAA001A0",
         "XC08CAA001A0", "XA11DAA001A0"),
        ("250301001000000", "250302001000000", "250303001000000", "250307001000000"),
        ("220100001000000", "310701001000000"),
        0.55, 0.08, 0.02,
    ),
    "neuro": GroupProfile(
        ("XB01ACA001A0", "XB01ACL001A0", "XC10AAA001A0", "ZA12BAA0010",
         "XB01ABA001B0", "XC08CAA001A0",
         "XA11DAA001A0"),
        ("250101015000000", "250307001000000", "250303001000000"),
        ("210300001000000", "230100001000000", "310701001000000"),
        0.3, 0.4, 0.05,
    ),
    "rehab": GroupProfile(
        ("XB01ACA001A0", "XC10AAA001A0", "ZA12BAA0010", "ZA04CAA0010", "XA11DAA001A0"),
        ("250101015000000",),
        ("210300001000000",),
        0.1, 0.05, 0.02,
    ),
    "gi": GroupProfile(
        ("XA02BCA001E0", "XA07DAA001E0", "XA03FAA001A0", "XJ01DDA001B0",
         "ZA04CAA0010", "XB05BAA001B0"),
        ("250101015000000", "250305001000000", "250403001000000"),
        ("220100001000000", "310800001000000"),
        0.4, 0.2, 0.15,
    ),
    "uro": GroupProfile(
        ("XJ01MAA001A0", "XG04CAA001E0", "XJ01DCA001B0", "ZA04CAA0010"),
        ("250501001000000", "250101015000000", "250307001000000"),
        ("220100001000000",),
        0.6, 0.3, 0.05,
    ),
    "renal": GroupProfile(
        ("XB03XAA001B0", "XC08CAA001A0", "XC03CAA001A0"),
        ("250307001000000", "250101015000000"),
        ("220100001000000",),
        0.2, 0.02, 0.0,
    ),
    "ortho": GroupProfile(
        ("XM01AEA001E0", "ZA04CAA0010", "ZA12BAA0010", "XN02BEA001A0"),
        ("250101015000000", "250403001000000"),
        ("210102001000000", "230100001000000"),
        0.1, 0.4, 0.05,
    ),
    "obst": GroupProfile(
        ("XJ01DCA001B0", "XB05BBA001B0", "XN02BEA001A0"),
        ("250101015000000", "250501001000000"),
        ("220100001000000",),
        0.3, 0.5, 0.0,
    ),
    "eye": GroupProfile(
        ("XS01XAA001G0", "XJ01MAA001A0"),
        ("250101015000000",),
        ("310701001000000",),
        0.05, 0.2, 0.0,
    ),
    "onc": GroupProfile(
        ("XL01XAA001B0", "XA04AAA001B0", "XB05BBA001B0", "XJ01DDA001B0", "ZA12BAA0010"),
        ("250101015000000", "250305001000000", "250307001000000", "270100001000000"),
        ("210300002000000", "230100001000000"),
        0.5, 0.3, 0.05,
    ),
    "chemo": GroupProfile(
        ("XL01CDA001B0", "XL01XAA001B0", "XA04AAA001B0", "XB05BBA001B0"),
        ("250101015000000", "250305001000000"),
        ("210300002000000",),
        0.5, 0.1, 0.0,
    ),
    "psych": GroupProfile(
        ("XN06ABA001A0", "XN05AHA001A0"),
        ("250101015000000", "250305001000000"),
        ("310701001000000",),
        0.15, 0.05, 0.0,
    ),
    "general": GroupProfile(
        ("XN02BEA001A0", "XM01AEA001E0", "ZA04CAA0010"),
        ("250101015000000",),
        ("210300001000000",),
        0.2, 0.1, 0.02,
    ),
    "skin": GroupProfile(("XD07ACA001H0", "ZA04CAA0010"),
        ("250101015000000",), ("310701001000000",),
                         0.05, 0.0, 0.0),
    "dental": GroupProfile(("XM01AEA001E0", "XJ01CAA001E0"),
        ("250101015000000",), ("210102001000000",),
                           0.02, 0.3, 0.0),
}  # fmt: skip

ADMISSION_LABS: tuple[str, ...] = (
    "250101015000000",
    "250305001000000",
    "250307001000000",
    "250501001000000",
    "250403001000000",
)
C_INPATIENT: tuple[str, ...] = (
    "110900003000000",
    "XA11JAC001A0",
    "XV06DBC001K0",
    "C1401010200001000001",
)
C_OUTPATIENT: tuple[str, ...] = ("XA11JAC001A0", "XV06DBC001K0")

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
