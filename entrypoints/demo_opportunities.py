"""The demo's 第5期城市机会清单 and the land of Wenjiang's six high-quality sci-tech spaces.

From the seed article: the list covered 成都医学城三医创新中心, 四川健康医疗大数据应用中心, 基因治疗
公共技术研发平台, 海峡中小企业孵化园, 都市现代农业产业技术研究院 and 西南知识产权智慧交易中心, with
20 new scenarios (needs) and 16 new products (supply) — 峰际生物 seeking technical cooperation
with hospitals, 君健万峰 recruiting agents outside Sichuan, 微康朴澜's flow-capture microfluidic
POCT platform, 君健万峰's multi-function insomnia device, 美创医疗's 普拉刀 plasma surgery
system. Everything else here (the other entries' detail, the parcels, areas, contacts) is
invented sample data and says so (示例数据).
"""

from __future__ import annotations

#: (code, name) of the spaces the simulation does not already create.
NEW_SPACES = (
    ("BDC", "四川健康医疗大数据应用中心"),
    ("GTP", "成都医学城基因治疗公共技术研发平台"),
    ("UAI", "成都都市现代农业产业技术研究院"),
    ("SWIP", "西南知识产权智慧交易中心"),
)
#: (space, parcel id, land use, land area m², floor area m²) — sample data.
PARCELS = (
    ("MC3", "WJ-2019-M0-01", "M0", 66_667.0, 200_000.0),
    ("HXP", "WJ-2016-M1-02", "M1", 40_000.0, 64_000.0),
    ("BDC", "WJ-2020-M0-03", "M0", 33_333.5, 90_000.0),
    ("GTP", "WJ-2020-M1-05", "M1", 26_667.0, 40_000.0),
    ("UAI", "WJ-2018-A35-01", "A35", 53_334.0, 30_000.0),
    ("SWIP", "WJ-2021-B29-04", "B29", 6_667.0, 20_000.0),
)
#: (space, unit code prefix, how many, area m²) of the new spaces' lettable units.
NEW_UNITS = (
    ("BDC", "D", 4, 300),
    ("GTP", "G", 3, 400),
    ("UAI", "U", 2, 500),
    ("SWIP", "S", 2, 150),
)

#: The named firms of the article that the simulation adds (name, fate, industry, space).
NAMED_FIRMS = (
    ("微康朴澜", "steady", "medical_devices", "MC3"),
    ("美创医疗", "strong", "medical_devices", "MC3"),
)

SAMPLE = "（示例数据）"

# (space, firm or None for the space itself, title, field, sought, description)
NEEDS: tuple[tuple[str, str | None, str, str, str, str], ...] = (
    ("MC3", "峰际生物", "寻求与医院开展技术合作", "pharma", "三甲医院检验科、肿瘤科临床合作",
     "峰际生物寻求与医院在肿瘤早筛基因检测技术上开展临床验证与技术合作"),
    ("MC3", None, "寻求 CDMO 中试生产合作方", "pharma", "具备 GMP 资质的中试与小批量生产服务",
     "三医创新中心为入驻创新药企业寻找中试放大与临床样品生产合作方"),
    ("MC3", None, "寻求医疗器械注册检验与临床评价服务", "medical_devices", "注册检验、临床评价咨询",
     "为入驻医疗器械企业对接注册检验机构与临床评价服务团队"),
    ("MC3", None, "寻求投融资机构驻场服务", "biomedicine", "生物医药专业投资机构、路演服务",
     "引入专业投资机构定期驻场，为入驻企业提供融资路演与投后服务"),
    ("MC3", None, "招引医疗器械初创团队入驻", "medical_devices", "高端医疗器械研发团队",
     "面向高端医疗器械领域招引初创团队，提供实验室与孵化服务"),
    ("HXP", "君健万峰", "在四川省外招募代理商", "medical_devices", "省外医疗器械经销代理商",
     "君健万峰为多功能失眠诊疗仪在四川省外招募区域代理商，共同开拓医院与康复机构市场"),
    ("HXP", None, "寻求两岸医疗健康企业交流合作", "health_services", "台湾地区医疗健康企业与机构",
     "海峡中小企业孵化园寻求两岸医疗健康企业在产品、技术与市场方面的交流合作"),
    ("HXP", None, "寻求专业孵化运营与培训服务", "health_services", "孵化运营、创业培训机构",
     "引入专业孵化运营机构，为入驻中小企业提供创业培训与政策辅导"),
    ("BDC", None, "寻求基层医疗机构 POCT 快速检测方案", "medical_big_data", "POCT 快速检测设备与数据接入",
     "为区域基层医疗机构寻找可联网的 POCT 快速检测方案，检测结果接入健康医疗大数据平台"),
    ("BDC", None, "寻求医疗数据隐私计算技术", "medical_big_data", "隐私计算、数据脱敏技术",
     "寻求多方安全计算与联邦学习技术，支持医疗数据在合规前提下的联合分析"),
    ("BDC", None, "寻求互联网医院远程会诊应用场景合作", "health_services", "互联网医院、远程会诊平台",
     "开放远程会诊与慢病管理应用场景，寻求互联网医院运营方合作"),
    ("BDC", None, "寻求医学影像人工智能辅助诊断产品", "medical_big_data", "医学影像 AI 辅助诊断产品",
     "寻求肺结节、眼底等医学影像人工智能辅助诊断产品在区域医疗机构试点应用"),
    ("GTP", None, "寻求病毒载体工艺开发合作伙伴", "pharma", "AAV、慢病毒载体工艺开发团队",
     "基因治疗公共技术研发平台寻求病毒载体上下游工艺开发与放大合作伙伴"),
    ("GTP", None, "寻求细胞治疗临床研究合作医院", "pharma", "具备细胞治疗临床研究备案的医院",
     "为平台服务的细胞与基因治疗企业寻找临床研究合作医院"),
    ("GTP", None, "寻求 GMP 级质粒与关键试剂供应商", "pharma", "GMP 级质粒、培养基与试剂",
     "寻求稳定供应 GMP 级质粒、无血清培养基与纯化填料的供应商"),
    ("UAI", None, "寻求智慧农业物联网监测设备", "modern_agriculture", "土壤墒情、气象与虫情监测设备",
     "为都市现代农业示范基地寻找物联网监测设备与数据平台"),
    ("UAI", None, "寻求道地中药材品质检测合作", "modern_agriculture", "中药材品质检测与溯源服务",
     "寻求检测机构合作，开展川芎等道地中药材的品质检测与种植溯源"),
    ("UAI", None, "寻求农产品冷链追溯数字化方案", "modern_agriculture", "冷链物流追溯系统",
     "寻求农产品从基地到餐桌的冷链温控与追溯数字化解决方案"),
    ("SWIP", None, "寻求专利评估与质押融资合作机构", "biomedicine", "知识产权评估机构、银行",
     "西南知识产权智慧交易中心寻求评估机构与银行合作，开展生物医药专利质押融资"),
    ("SWIP", None, "寻求高校院所科技成果转化项目", "biomedicine", "高校院所可转化专利与成果",
     "面向高校院所征集生物医药领域可转化科技成果，提供挂牌交易服务"),
)  # fmt: skip

SUPPLIES: tuple[tuple[str, str | None, str, str, str, str], ...] = (
    ("MC3", "微康朴澜", "流动捕获微流控 POCT 诊断平台", "medical_devices", "POCT 快速检测设备与试剂",
     "微康朴澜国内首创的流动捕获微流控 POCT 诊断平台，可在基层医疗机构完成快速检测"),
    ("HXP", "君健万峰", "多功能失眠诊疗仪", "medical_devices", "失眠诊疗设备、睡眠监测与干预",
     "君健万峰的多功能失眠诊疗仪，集睡眠监测与物理干预于一体，适用于医院睡眠科与康复机构"),
    ("MC3", "美创医疗", "普拉刀全新智能等离子手术系统", "medical_devices", "等离子手术系统及耗材",
     "美创医疗的普拉刀全新智能等离子手术系统，适用于耳鼻喉、妇科等微创手术"),
    ("MC3", "峰际生物", "肿瘤早筛基因检测服务", "pharma", "肿瘤早筛基因检测、伴随诊断服务",
     "峰际生物提供肿瘤早筛基因检测与伴随诊断服务，可与医院检验科合作开展"),
    ("MC3", None, "共享 GMP 中试车间与洁净实验室", "pharma", "中试车间、洁净实验室按需租用",
     "三医创新中心向区内企业开放共享 GMP 中试车间与 B 级洁净实验室"),
    ("MC3", None, "医疗器械注册申报一站式服务", "medical_devices", "注册申报、体系辅导",
     "为医疗器械企业提供注册申报、质量体系辅导与检验送检的一站式服务"),
    ("BDC", None, "健康医疗大数据开放与分析平台", "medical_big_data", "脱敏数据集、分析工具",
     "四川健康医疗大数据应用中心向科研与企业开放脱敏数据集与分析工具"),
    ("BDC", None, "医疗人工智能模型训练算力服务", "medical_big_data", "GPU 算力、模型训练环境",
     "为医学影像等人工智能企业提供合规的模型训练算力与数据标注服务"),
    ("BDC", None, "区域全民健康信息平台建设方案", "health_services", "区域健康信息平台方案",
     "可复制的区域全民健康信息平台建设与运营方案"),
    ("GTP", None, "AAV 与慢病毒载体工艺开发服务", "pharma", "载体工艺开发、中试生产",
     "基因治疗公共技术研发平台提供 AAV 与慢病毒载体工艺开发及中试生产服务"),
    ("GTP", None, "基因治疗产品质量检测服务", "pharma", "质量研究、放行检测",
     "提供基因治疗产品质量研究与放行检测服务"),
    ("HXP", None, "两岸青年创业孵化与政策辅导", "health_services", "孵化场地、政策辅导",
     "海峡中小企业孵化园为两岸青年创业团队提供孵化场地与政策辅导"),
    ("UAI", None, "都市农业新品种与种苗繁育技术", "modern_agriculture", "新品种、种苗繁育",
     "都市现代农业产业技术研究院提供花卉苗木新品种与种苗繁育技术"),
    ("UAI", None, "智慧农业物联网监测系统", "modern_agriculture", "物联网监测系统与平台",
     "研究院自主研发的智慧农业物联网监测系统，覆盖土壤、气象与虫情监测"),
    ("SWIP", None, "知识产权智慧交易与评估平台", "biomedicine", "专利交易、评估与质押融资",
     "西南知识产权智慧交易中心提供专利挂牌交易、价值评估与质押融资对接服务"),
    ("SWIP", None, "专利导航与高价值专利培育服务", "biomedicine", "专利导航、高价值专利培育",
     "为生物医药企业提供专利导航分析与高价值专利培育服务"),
)  # fmt: skip

#: Introductions the operators recorded after publication: (need title, supply title, outcomes).
INTRODUCTIONS = (
    ("寻求基层医疗机构 POCT 快速检测方案", "流动捕获微流控 POCT 诊断平台", ("contacted", "deal")),
    ("寻求医学影像人工智能辅助诊断产品", "医疗人工智能模型训练算力服务", ("contacted", "in_talks")),
    ("寻求 CDMO 中试生产合作方", "共享 GMP 中试车间与洁净实验室", ("contacted", "deal")),
)
