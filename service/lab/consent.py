"""The panel's consent text, versioned. A new version is added here (never an old one
changed): members who agreed to an older one see that it changed and are asked again when
they next change their membership; the version each member agreed to is kept with them."""

from __future__ import annotations

from service.lab.schemas import ConsentPublic, Texts

PURPOSE = Texts(
    et=(
        "Linna elavlabori testpaneel: linn ja tema partnerid katsetavad uusi teenuseid ja "
        "tooteid elanikega enne, kui need kõigile jõuavad."
    ),
    en=(
        "The city's living lab test panel: the city and its partners try new services and "
        "products with residents before they reach everyone."
    ),
    ru=(
        "Тестовая панель городской живой лаборатории: город и его партнёры испытывают новые "
        "услуги и продукты вместе с жителями, прежде чем они станут доступны всем."
    ),
)

TEXTS: dict[int, Texts] = {
    1: Texts(
        et=(
            "Nõustun, et mind võidakse juhuvalimiga kutsuda linna piloote testima. Minu "
            "profiili (vanuserühm, leibkonna suurus, keeled, seadmed, ligipääsetavuse "
            "vajadused, hoone ja linnaosa) kasutatakse ainult valimi moodustamiseks. "
            "Pilootide korraldajad näevad vastuseid ainult koondatuna, vähemalt viie inimese "
            "kaupa, ega saa kunagi teada, kes osales. Vabas vormis teksti näidatakse neile "
            "ainult siis, kui ma selleks eraldi loa annan. Võin oma profiili igal ajal "
            "vaadata, muuta või paneelist lahkuda; lahkudes profiil kustutatakse."
        ),
        en=(
            "I agree that I may be drawn at random and invited to test the city's pilots. My "
            "profile (age band, household size, languages, devices, accessibility needs, "
            "building and district) is used only to draw samples. The organisations running "
            "pilots see answers only in groups of at least five people and never learn who "
            "took part. My free text is shown to them only when I allow it separately. I may "
            "see or change my profile or leave the panel at any time; leaving deletes the "
            "profile."
        ),
        ru=(
            "Я согласен(на), что меня могут случайным образом выбрать и пригласить "
            "тестировать пилотные проекты города. Мой профиль (возрастная группа, размер "
            "домохозяйства, языки, устройства, потребности в доступности, дом и район) "
            "используется только для формирования выборки. Организаторы пилотов видят ответы "
            "только в группах не менее пяти человек и никогда не узнают, кто участвовал. Мой "
            "свободный текст показывается им только с моего отдельного разрешения. Я могу в "
            "любой момент посмотреть или изменить профиль или выйти из панели; при выходе "
            "профиль удаляется."
        ),
    ),
}
CURRENT_VERSION = max(TEXTS)


def current() -> ConsentPublic:
    return ConsentPublic(version=CURRENT_VERSION, purpose=PURPOSE, text=TEXTS[CURRENT_VERSION])
